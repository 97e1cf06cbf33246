"""Operations metrics in the Prometheus text format (GET /metrics, reader tokens): what the
service stores per camera and tier, how fast uploads are answered, what it refused, and how
far each camera's newest stored segment lags behind the wall clock."""

import bisect
import threading
import time
from collections import Counter
from typing import Any

LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters the app updates as it answers (thread-safe), rendered with catalog gauges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: Counter[tuple[str, str, int]] = Counter()  # (method, endpoint, status)
        self._upload_buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self._upload_sum = 0.0
        self._uploads = 0

    def answered(self, method: str, endpoint: str, status: int, seconds: float, upload: bool) -> None:
        """One answered API request; `upload`: a layer PUT, timed into the latency histogram."""
        with self._lock:
            self._answers[(method, endpoint, status)] += 1
            if upload:
                self._upload_buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
                self._upload_sum += seconds
                self._uploads += 1

    def render(self, cameras: list[dict[str, Any]], now: float | None = None) -> str:
        """The exposition text; cameras: the catalog's per-camera summary."""
        now = time.time() if now is None else now
        lines = [
            "# HELP vcm_segments Segments stored per camera.", "# TYPE vcm_segments gauge",
            *(f'vcm_segments{{camera="{c["camera"]}"}} {c["segments"]}' for c in cameras),
            "# HELP vcm_stored_bytes Bytes stored per camera and tier.", "# TYPE vcm_stored_bytes gauge",
            *(f'vcm_stored_bytes{{camera="{c["camera"]}",tier="{tier}"}} {c[f"{tier}_bytes"]}'
              for c in cameras for tier in ("hot", "cold")),
            "# HELP vcm_camera_lag_seconds Wall clock minus the end of the camera's newest stored segment.",
            "# TYPE vcm_camera_lag_seconds gauge",
            *(f'vcm_camera_lag_seconds{{camera="{c["camera"]}"}} {now - c["last"]:.3f}'
              for c in cameras if c["last"] is not None),
        ]
        with self._lock:
            answers, buckets = sorted(self._answers.items()), list(self._upload_buckets)
            total, count = self._upload_sum, self._uploads
        refused = sum(n for (method, _, status), n in answers if method == "PUT" and status >= 400)
        lines += ["# HELP vcm_requests_total API requests answered, by method, endpoint and status.",
                  "# TYPE vcm_requests_total counter",
                  *(f'vcm_requests_total{{method="{m}",endpoint="{e}",status="{s}"}} {n}'
                    for (m, e, s), n in answers),
                  "# HELP vcm_rejected_uploads_total Layer and detection uploads refused (4xx).",
                  "# TYPE vcm_rejected_uploads_total counter",
                  f"vcm_rejected_uploads_total {refused}",
                  "# HELP vcm_upload_seconds Time to answer a layer upload.",
                  "# TYPE vcm_upload_seconds histogram"]
        cumulative = 0
        for bound, count_in in zip([*map(str, LATENCY_BUCKETS_S), "+Inf"], buckets, strict=True):
            cumulative += count_in
            lines.append(f'vcm_upload_seconds_bucket{{le="{bound}"}} {cumulative}')
        lines += [f"vcm_upload_seconds_sum {total:.6f}", f"vcm_upload_seconds_count {count}"]
        return "\n".join(lines) + "\n"
