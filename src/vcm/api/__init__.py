"""The camera-service contract and its client side: uploads, restore, re-analysis, playback."""
