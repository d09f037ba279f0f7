"""Vox measured against faster-whisper and piper-tts side by side; run as `python3 -m bench`."""
