"""Encoder options under which per-block QP offsets are applied exactly.

crf=BASE with qcomp=ipratio=pbratio=1 pins every frame's QP to BASE; adaptive
quantisation must be on (at a negligible strength) or libx264/libx265 ignore the
region offsets; a 16x16 CTU with 16x16 quantisation groups makes x265's QP exact
per block. No B-frames, no lookahead: one I-frame then gop-1 P-frames.
"""

CODECS = {"hevc": "libx265", "h264": "libx264"}
MAX_SIDE = 8192  # pixels: the widest and tallest picture x265 and x264 code
MAX_GOP = 100_000  # frames per GOP: x265 and x264 take keyint as an int; beyond this, an hour or more
# HEVC levels above 4.1 require CTUs of 32x32 or more; the exact 16x16 QP blocks need 16x16 CTUs,
# so x265 refuses (as non-conforming) pictures above level 4.1's size
HEVC_CTU16_MAX_PIXELS = 2_228_224

# The crf every encoder opens with; block QPs become offsets from it.
ENCODER_QP = 26


def encoder_options(codec: str, gop: int) -> dict[str, str]:
    """libx26x options for the given codec ('hevc' or 'h264') and GOP length in frames."""
    common = (
        f"crf={ENCODER_QP}:qcomp=1:ipratio=1:pbratio=1:aq-mode=1:aq-strength=0.01:"
        f"rc-lookahead=0:bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0"
    )
    if codec == "hevc":
        params = common + (
            ":cutree=0:open-gop=0:ctu=16:min-cu-size=8:qg-size=16:log-level=error"
        )
        return {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1",
                "x265-params": params}
    params = common + ":mbtree=0"
    return {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1", "x264-params": params}


def crf_options(codec: str, gop: int, crf: int) -> dict[str, str]:
    """libx26x options of a stream as a user would make it with FFmpeg or an NVR: constant
    rate factor `crf` with the encoder's default adaptive quantisation, and otherwise vcm's
    preset, GOP (one I-frame then gop-1 P-frames) and no B-frames, so only the rate control
    differs from vcm's streams."""
    common = f"crf={crf}:rc-lookahead=0:bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0"
    if codec == "hevc":
        return {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1",
                "x265-params": common + ":open-gop=0:log-level=error"}
    return {"preset": "ultrafast", "tune": "zerolatency", "forced-idr": "1", "x264-params": common}
