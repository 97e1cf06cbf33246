"""How figures are rounded in reports (JSON, CSV, tables): one rule per kind of figure."""

DIGITS = {
    "share": 4,  # rates, ratios and scores in [0, 1] (detection rate, mAP, size ratio, leak rate)
    "kbps": 3,  # bitrates, kbit/s
    "db": 3,  # PSNR, dB
    "ssim": 5,  # (MS-)SSIM
    "seconds": 4,  # wall-clock seconds (per frame or in total)
    "per_frame": 2,  # counts per frame (codec checks, detector calls), frames/s
    "percent": 2,  # BD-rates, percent
    "qp": 3,  # mean QPs
    "vmaf": 3,  # VMAF and VMAF-NEG, 0-100
}


def rounded(value: float | None, kind: str) -> float | None:
    """`value` rounded as figures of `kind` are (see DIGITS); None stays None."""
    return None if value is None else round(float(value), DIGITS[kind])
