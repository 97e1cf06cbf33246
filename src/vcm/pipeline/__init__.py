"""The streaming pipeline: plan, encode and check a stream with any registered planner."""

from vcm.pipeline.options import VERIFY_EVERY, Edits, Known, Verification
from vcm.pipeline.report import EncodeReport, FrameReport
from vcm.pipeline.run import repair_map, run_method

__all__ = ["VERIFY_EVERY", "Edits", "EncodeReport", "FrameReport", "Known", "Verification", "repair_map",
           "run_method"]
