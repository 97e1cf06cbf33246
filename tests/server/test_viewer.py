"""The web viewer in a real browser (headless Chromium) against a real `vcm serve` holding two
segments uploaded by the real camera agent; and the API's refusal of requests without a token."""

from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.server.conftest import CAMERA, Served

pytestmark = pytest.mark.system  # starts real servers

WAIT_S = 30.0
TOKEN_KEY = "vcm.readerToken"


def _wait(driver: WebDriver, timeout: float = WAIT_S) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException])


def _testid(driver: WebDriver, name: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def _visible(driver: WebDriver, name: str) -> WebElement | None:
    return next((element for element in _testid(driver, name) if element.is_displayed()), None)


def _open(driver: WebDriver, served: Served) -> None:
    """The page, signed out."""
    driver.get(f"{served.url}/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{served.url}/")
    _wait(driver).until(lambda d: _visible(d, "token-input"))


def _sign_in(driver: WebDriver, served: Served, token: str) -> None:
    _open(driver, served)
    field = _visible(driver, "token-input")
    assert field is not None
    field.send_keys(token)
    _testid(driver, "signin-submit")[0].click()


def _signed_in(driver: WebDriver, served: Served) -> list[WebElement]:
    """Sign in with the reader token; the camera's timeline bars once both segments show."""
    _sign_in(driver, served, served.reader)
    return _wait(driver).until(lambda d: len(bars := _testid(d, "segment")) == 2 and bars)


def _console_errors(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_page_loads_and_asks_for_a_reader_token(served: Served, browser: WebDriver) -> None:
    _open(browser, served)
    assert browser.title.startswith("vcm")
    assert _visible(browser, "signin") is not None
    label = browser.find_element(By.CSS_SELECTOR, 'label[for="token"]')
    assert "token" in label.text.lower()
    assert _visible(browser, "camera-list") is None
    for path in ("/static/app.js", "/static/style.css"):
        assert httpx.get(f"{served.url}{path}", timeout=10).status_code == 200


def test_a_wrong_token_shows_the_sign_in_again_with_an_error(served: Served, browser: WebDriver) -> None:
    _sign_in(browser, served, "not-a-token")
    error = _wait(browser).until(lambda d: _visible(d, "signin-error"))
    assert "token" in error.text.lower()
    assert _visible(browser, "token-input") is not None
    assert _visible(browser, "camera-list") is None
    assert browser.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')") is None


def test_a_camera_token_is_refused_with_a_hint(served: Served, browser: WebDriver) -> None:
    _sign_in(browser, served, served.camera)
    error = _wait(browser).until(lambda d: _visible(d, "signin-error"))
    assert "reader token" in error.text


def test_the_camera_and_its_two_segments_are_listed(served: Served, browser: WebDriver) -> None:
    bars = _signed_in(browser, served)
    cameras = _testid(browser, "camera-item")
    assert [camera.get_attribute("data-camera") for camera in cameras] == [CAMERA]
    text = cameras[0].text
    assert "2 segments" in text and "64 frames" in text
    assert "hot" in text and "KiB" in text  # bytes per tier in human units
    seen = _testid(browser, "camera-seen")[0].text
    assert seen == "● online" or seen.startswith("last seen "), seen  # per-camera status
    assert [bar.get_attribute("data-seq") for bar in bars] == ["0", "1"]
    assert all("detections" in (bar.get_attribute("aria-label") or "") for bar in bars)
    # The token lives in this tab's session only (never in localStorage) and survives a reload;
    # signing out forgets it.
    assert browser.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')") == served.reader
    assert browser.execute_script("return localStorage.length") == 0
    browser.refresh()
    _wait(browser).until(lambda d: len(_testid(d, "segment")) == 2)
    _testid(browser, "sign-out")[0].click()
    _wait(browser).until(lambda d: _visible(d, "token-input"))
    assert browser.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')") is None


def test_the_timeline_shows_a_window_that_moves(served: Served, browser: WebDriver) -> None:
    """Six hours at a time, ending at the newest footage: earlier is empty here, newest returns."""
    _signed_in(browser, served)
    assert _testid(browser, "camera-range")[0].text.startswith("2 segments")
    assert _testid(browser, "window-later")[0].get_attribute("disabled") is not None  # already the newest
    _testid(browser, "window-earlier")[0].click()
    _wait(browser).until(lambda d: not _testid(d, "segment"))
    assert _testid(browser, "camera-range")[0].text.startswith("0 segments")
    assert "No segments in this window (6 hours)" in _testid(browser, "timeline")[0].text
    _testid(browser, "window-newest")[0].click()
    _wait(browser).until(lambda d: len(_testid(d, "segment")) == 2)


def _pick_time(driver: WebDriver, script_value: str) -> None:
    """Set the date picker (a datetime-local input) from a JS expression and fire its change."""
    driver.execute_script(f"const input = document.getElementById('window-at'); input.value = {script_value};"
                          "input.dispatchEvent(new Event('change'))")


def test_the_timeline_zooms_and_jumps_to_a_picked_date(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    _console_errors(browser)  # drop what earlier tests logged (their refused tokens)
    six_hours = _testid(browser, "window-at")[0].get_attribute("value")
    assert six_hours  # the picker shows the window's centre
    Select(_testid(browser, "window-length")[0]).select_by_visible_text("1 h")
    earlier = _testid(browser, "window-earlier")[0]
    _wait(browser).until(lambda d: earlier.get_attribute("title") == "The 1 hour before")
    picked = _wait(browser).until(lambda d: (value := _testid(d, "window-at")[0].get_attribute("value"))
                                  != six_hours and value)  # the newest hour's centre, once listed
    assert len(_testid(browser, "segment")) == 2  # the newest hour still holds both
    # a day earlier (the picker's value moved back 24 hours in the browser's own time zone)
    _pick_time(browser, "(() => { const d = new Date(input.value); d.setDate(d.getDate() - 1); "
                        "const p = (n) => String(n).padStart(2, '0'); "
                        "return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T"
                        "${p(d.getHours())}:${p(d.getMinutes())}`; })()")
    _wait(browser).until(lambda d: not _testid(d, "segment"))
    assert "No segments in this window (1 hour)" in _testid(browser, "timeline")[0].text
    assert _testid(browser, "window-later")[0].get_attribute("disabled") is None
    _pick_time(browser, repr(picked))
    _wait(browser).until(lambda d: len(_testid(d, "segment")) == 2)
    Select(_testid(browser, "window-length")[0]).select_by_visible_text("24 h")
    _wait(browser).until(lambda d: "24 hours" in _testid(d, "window-newest")[0].get_attribute("title"))
    assert len(_testid(browser, "segment")) == 2
    assert not _console_errors(browser)


def test_the_shown_window_is_exported_as_one_mp4(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    _console_errors(browser)  # drop what earlier tests logged (their refused tokens)
    _testid(browser, "window-export")[0].click()
    status = _wait(browser).until(lambda d: (shown := _testid(d, "export-status")[0]) and
                                  shown.text.startswith("Exported") and shown)
    assert "MB (the machine stream)" in status.text
    _testid(browser, "window-earlier")[0].click()  # six empty hours: nothing to export
    _wait(browser).until(lambda d: not _testid(d, "segment"))
    _testid(browser, "window-export")[0].click()
    _wait(browser).until(lambda d: "No footage in this window" in d.find_element(By.ID, "banner").text)


def test_clicking_a_segment_plays_it_with_the_detection_boxes(served: Served, browser: WebDriver,
                                                              tmp_path: Path) -> None:
    bars = _signed_in(browser, served)
    _console_errors(browser)  # drop what earlier tests logged (their refused tokens)
    browser.execute_script("document.getElementById('autoadvance').checked = false")
    bars[1].click()
    _wait(browser).until(lambda d: d.execute_script(
        "const v = document.querySelector('[data-testid=video]');"
        "return v.videoWidth > 0 && v.currentTime > 0 && v.played.length > 0"))
    video = _visible(browser, "video")
    assert video is not None
    assert browser.execute_script("return arguments[0].src", video).startswith("blob:")
    size = browser.execute_script("return [arguments[0].videoWidth, arguments[0].videoHeight]", video)
    assert size == [768, 576]
    assert bars[1].get_attribute("aria-selected") == "true"
    assert "segment 1" in _testid(browser, "player-title")[0].text
    # The edge's boxes are drawn on the overlay canvas: some pixels are not transparent.
    painted = _wait(browser).until(lambda d: d.execute_script(
        "const c = document.querySelector('[data-testid=overlay]');"
        "const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n"))
    assert painted > 100
    assert "person" in _testid(browser, "classes")[0].text
    # Without a restoration layer the restored view is off, and the page says why.
    assert not _testid(browser, "kind-restored")[0].is_enabled()
    assert "no restoration layer" in _testid(browser, "kind-note")[0].text
    browser.execute_script("document.querySelector('[data-testid=video]').pause()")
    browser.save_screenshot(str(tmp_path / "viewer.png"))
    assert not _console_errors(browser)


def test_the_restored_view_plays_where_a_restoration_layer_is_stored(served: Served,
                                                                     browser: WebDriver) -> None:
    bars = _signed_in(browser, served)
    _console_errors(browser)  # drop what earlier tests logged (their refused tokens)
    browser.execute_script("document.getElementById('autoadvance').checked = false")
    bars[0].click()
    _wait(browser).until(lambda d: d.execute_script(
        "const v = document.querySelector('[data-testid=video]');"
        "return v.videoWidth > 0 && v.currentTime > 0"))
    machine_src = browser.execute_script("return document.querySelector('[data-testid=video]').src")
    toggle = _testid(browser, "kind-restored")[0]
    assert toggle.is_enabled()
    toggle.click()
    _wait(browser).until(lambda d: d.execute_script(
        "const v = document.querySelector('[data-testid=video]');"
        "return v.src !== arguments[0] && v.videoWidth === 768 && v.currentTime > 0", machine_src))
    assert not _console_errors(browser)


def test_a_search_for_person_lists_hits_that_open_their_segment(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    field = _visible(browser, "search-input")
    assert field is not None
    field.send_keys("person")
    _testid(browser, "search-submit")[0].click()
    hits = _wait(browser).until(lambda d: _testid(d, "search-hit"))
    assert {(hit.get_attribute("data-camera"), hit.get_attribute("data-seq")) for hit in hits} <= {
        (CAMERA, "0"), (CAMERA, "1")}
    assert "person" in hits[0].text
    hits[-1].click()
    seq = hits[-1].get_attribute("data-seq")
    _wait(browser).until(lambda d: f"segment {seq}" in _testid(d, "player-title")[0].text)
    _wait(browser).until(lambda d: d.execute_script(
        "const v = document.querySelector('[data-testid=video]'); return v.readyState >= 2"))


def test_search_filters_by_camera_score_and_the_shown_window(served: Served, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select

    _signed_in(browser, served)
    field = _visible(browser, "search-input")
    assert field is not None
    field.send_keys("person")
    Select(_testid(browser, "search-camera")[0]).select_by_value(CAMERA)
    _testid(browser, "search-window")[0].click()
    _testid(browser, "search-submit")[0].click()
    hits = _wait(browser).until(lambda d: _testid(d, "search-hit"))
    assert {hit.get_attribute("data-camera") for hit in hits} == {CAMERA}
    _testid(browser, "search-score")[0].send_keys("1")  # nothing scores 1.0
    _testid(browser, "search-submit")[0].click()
    _wait(browser).until(lambda d: _visible(d, "search-empty"))


def test_a_stored_reanalysis_is_found_and_its_boxes_shown(served: Served, browser: WebDriver) -> None:
    from vcm.api.client import Client

    with Client(served.url, served.reader) as client:
        edge = client.search("person", CAMERA)[0]
        kite = {"frame": 0, "time": edge["first"], "class": "kite", "score": 0.95, "box": [10, 10, 60, 60]}
        client.put_analysis(CAMERA, edge["seq"], "kite-check", [kite])
    _signed_in(browser, served)
    _console_errors(browser)  # drop what earlier tests logged (their refused tokens)
    field = _visible(browser, "search-input")
    assert field is not None
    field.send_keys("kite\n")
    hit = _wait(browser).until(lambda d: _visible(d, "search-hit"))
    assert "found by kite-check" in hit.text
    hit.click()
    _wait(browser).until(lambda d: (menu := _visible(d, "boxes-from"))
                         and menu.get_attribute("value") == "kite-check")
    _wait(browser).until(lambda d: "kite" in _testid(d, "classes")[0].text)
    Select(_testid(browser, "boxes-from")[0]).select_by_value("edge")  # back to the camera's own
    _wait(browser).until(lambda d: "person" in _testid(d, "classes")[0].text and "kite" not in
                         _testid(d, "classes")[0].text)
    assert not _console_errors(browser)


def test_an_unknown_class_finds_nothing(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    field = _visible(browser, "search-input")
    assert field is not None
    field.send_keys("giraffe\n")
    empty = _wait(browser).until(lambda d: _visible(d, "search-empty"))
    assert "giraffe" in empty.text


def test_a_token_revoked_mid_session_asks_for_the_token_again(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    browser.execute_script(f"sessionStorage.setItem('{TOKEN_KEY}', 'revoked')")
    browser.refresh()
    error = _wait(browser).until(lambda d: _visible(d, "signin-error"))
    assert "invalid or expired token" in error.text


def test_a_link_to_a_missing_segment_shows_an_error(served: Served, browser: WebDriver) -> None:
    _signed_in(browser, served)
    browser.execute_script(f"location.hash = '#{CAMERA}/7'; location.reload()")
    banner = _wait(browser).until(lambda d: _visible(d, "error"))
    assert "no segment 7" in banner.text


def test_a_server_failure_shows_its_reason(served: Served, browser: WebDriver) -> None:
    """Segment 0's stored machine layer vanishes from the hot tier (and it has no rendition yet):
    the server answers 503 and the page shows why. The file is put back afterwards."""
    stored = sorted(served.data.glob(f"hot/{CAMERA}/0000000000.*"))
    assert stored, "the local hot tier changed its layout"
    for rendition in served.data.glob(f"renditions/{CAMERA}/0000000000.*"):
        rendition.unlink()
    aside = [path.rename(path.with_name(f"aside-{path.name}")) for path in stored]
    try:
        _signed_in(browser, served)
        browser.execute_script(f"location.hash = '#{CAMERA}/0'; location.reload()")
        banner = _wait(browser).until(lambda d: _visible(d, "error"))
        assert "missing" in banner.text and "503" in banner.text
        status = _visible(browser, "player-status")
        assert status is not None and "Cannot play segment 0" in status.text
    finally:
        for original, moved in zip(stored, aside, strict=True):
            moved.rename(original)


@pytest.mark.parametrize("path", [
    "/api/cameras",
    f"/api/cameras/{CAMERA}/segments",
    f"/api/cameras/{CAMERA}/segments/0/detections",
    f"/api/cameras/{CAMERA}/segments/0/view.mp4?kind=machine",
    f"/api/cameras/{CAMERA}/segments/0/view.mp4?kind=restored",
    "/api/search?class=person",
])
def test_every_api_endpoint_of_the_viewer_needs_a_token(served: Served, path: str) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        answered = client.get(path, headers={"Authorization": f"Bearer {served.reader}"})
        assert answered.status_code == 200, answered.text
