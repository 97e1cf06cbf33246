"""Reading frames from video files and raw YUV, and the embedded sample clip."""

from vcm.media.samples import fetch_sample
from vcm.media.source import FrameSource
from vcm.media.video import Video, luma_of, read_video, rgb_to_yuv420, windows

__all__ = ["FrameSource", "Video", "fetch_sample", "luma_of", "read_video", "rgb_to_yuv420", "windows"]
