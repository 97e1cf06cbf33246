"""Face identity leakage after coding, and the privacy encode mode."""

from vcm.privacy.leakage import MIN_RECOGNISABLE_FACE, FaceRecord, PrivacyReport, privacy_report
from vcm.privacy.mode import PrivacyConfig

__all__ = ["MIN_RECOGNISABLE_FACE", "FaceRecord", "PrivacyConfig", "PrivacyReport", "privacy_report"]
