#!/usr/bin/env python3
"""Drives the page at `/` in headless Chromium with selenium, as a person would use it.

Requires selenium (`make test-deps` installs it into a venv), Debian's `chromium` and
`chromium-driver`, and a running Vox. `make test` runs it against the real app
(tests/tests/browser.rs):

    python3 tests/browser_check.py --base-url URL --audio jfk.flac --mic-wav jfk.wav \
        --artefacts DIR [--keyed-base-url URL --api-key KEY]

Each state is saved as a PNG under --artefacts. Exits non-zero on the first failure.
"""

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

# What jfk.flac says (LibriSpeech-style comparison: lower case, no punctuation).
REFERENCE = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
SPOKEN = "Vox speaks while it is still synthesizing. This is the second sentence. And here is a third one, a little longer than the others."
# Long enough for transcription plus synthesis of the whole clip on a slow, shared machine.
TIMEOUT = 240


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def words(text):
    return [w for w in re.sub(r"[^a-z0-9' ]", " ", text.lower()).split() if w]


def recall(text, reference=REFERENCE):
    """Share of the reference's words found in `text`, in order (a longest common subsequence)."""
    got, ref = words(text), words(reference)
    prev = [0] * (len(got) + 1)
    for r in ref:
        cur = [0]
        for j, g in enumerate(got):
            cur.append(prev[j] + 1 if r == g else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1] / len(ref)


class Page:
    def __init__(self, driver, artefacts):
        self.driver = driver
        self.artefacts = artefacts
        self.console = []

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def el(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def data(self, css, key):
        return self.js("return document.querySelector(arguments[0]).dataset[arguments[1]] ?? null", css, key)

    def text(self, css):
        return self.el(css).text.strip()

    def wait(self, what, condition, timeout=TIMEOUT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: condition())
        except TimeoutException:
            self.shot(f"timeout-{re.sub('[^a-z]+', '-', what)}")
            raise AssertionError(f"timed out waiting for {what}; console: {self.logs()}")

    def wait_state(self, section, states, timeout=TIMEOUT):
        self.wait(f"#{section} to be {states}", lambda: self.data(f"#{section}", "state") in states, timeout)
        return self.data(f"#{section}", "state")

    def shot(self, name):
        path = self.artefacts / f"{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")

    def logs(self):
        """Console entries since the last call (kept in self.console too)."""
        entries = self.driver.get_log("browser")
        self.console.extend(entries)
        return entries

    def no_console_errors(self, step):
        bad = [e for e in self.logs() if e["level"] in ("SEVERE", "WARNING")]
        check(not bad, f"{step}: console errors: {json.dumps(bad, indent=1)}")


def chromium(args, width=1000, height=1300):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={args.mic_wav}",
        "--disable-features=MediaRouter",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)


def loads(page, base):
    page.driver.get(base + "/")
    page.wait("the page's script", lambda: page.js("return document.body.dataset.ready === 'true'"))
    page.wait("the voice list", lambda: page.js("return (document.querySelector('#voice').options[0] || {}).value"))
    page.wait("the model list", lambda: page.js("return (document.querySelector('#model').options[0] || {}).value"))
    status = page.text("#lists-status") if page.el("#settings").get_attribute("open") else page.js(
        "return document.querySelector('#lists-status').textContent")
    check("installed" in status, f"lists status: {status!r}")
    unlabelled = page.js(
        "return [...document.querySelectorAll('input, select, textarea, button')]"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())"
        ".map(e => e.id || e.outerHTML)")
    check(not unlabelled, f"controls without a label: {unlabelled}")
    page.shot("01-loaded")
    page.no_console_errors("loading /")


def upload(page, audio):
    page.el("#file").send_keys(str(audio))
    # The streamed text shows first; the timestamped segments follow.
    state = page.wait_state("transcribe", ("done", "error"))
    check(state == "done", f"upload: {page.text('#transcribe-error')}")
    transcript = page.text("#transcript")
    check(recall(transcript) >= 0.9, f"upload transcript {transcript!r}")
    check(words(page.data("#transcribe", "text")) == words(transcript), "the streamed text is what is shown")
    words_shown = page.js(
        "return [...document.querySelectorAll('#segments .word')].map(b => [b.textContent, Number(b.dataset.start), Number(b.dataset.end)])")
    check(len(words_shown) >= len(words(REFERENCE)) - 2, f"word timestamps: {words_shown}")
    starts = [s for _, s, _ in words_shown]
    check(starts == sorted(starts) and all(e >= s for _, s, e in words_shown), f"word times out of order: {words_shown}")
    check(recall(" ".join(w for w, _, _ in words_shown)) >= 0.9, f"words {words_shown}")
    # Choosing a word plays the recording from it.
    target = next(i for i, (w, _, _) in enumerate(words_shown) if words(w) == ["country"])
    page.js("document.querySelectorAll('#segments .word')[arguments[0]].click()", target)
    start = words_shown[target][1]
    page.wait("the recording to play from the word", lambda: page.js(
        "const a = document.querySelector('#source-audio'); return !a.paused && a.currentTime >= arguments[0]", start))
    position = page.js("return document.querySelector('#source-audio').currentTime")
    check(start <= position < start + 3, f"playing at {position} s, the word starts at {start} s")
    page.shot("02-transcribed")
    page.js("document.querySelector('#source-audio').pause()")
    page.no_console_errors("transcribing an upload")
    print(f"upload: {transcript!r}, {len(words_shown)} timed words")


def speak(page):
    box = page.el("#speak-text")
    box.clear()
    box.send_keys(SPOKEN)
    page.el("#speak-go").click()
    page.wait("playback to start", lambda: page.data("#speak", "state") == "playing"
              and int(page.data("#speak", "played") or 0) > 0, timeout=120)
    page.shot("03-speaking")
    state = page.wait_state("speak", ("done", "error"))
    check(state == "done", f"speak: {page.text('#speak-error')}")
    received = int(page.data("#speak", "received"))
    played = int(page.data("#speak", "played"))
    at_end = int(page.data("#speak", "playedAtEnd"))
    peak = float(page.data("#speak", "peak"))
    # Three sentences at 22 050 Hz are several seconds; all of it was played, audibly, and
    # playing began before the last of it had arrived (it streams sentence by sentence).
    check(received > 3 * 22050, f"received only {received} samples")
    check(played == received, f"played {played} of {received} samples")
    check(peak > 0.01, f"peak level {peak}: silence")
    check(at_end > 0, "nothing had played when the stream ended: playback waited for the whole audio")
    page.no_console_errors("speaking")
    print(f"speak: {received} samples, {at_end} played before the stream ended, peak level {peak}")


def microphone(page):
    page.el("#record").click()
    page.wait("recording", lambda: page.data("#transcribe", "recording") == "true", timeout=30)
    # The fake device plays the clip in a loop; a little over one pass holds the whole sentence.
    page.wait("13 s of recording", lambda: float(page.data("#transcribe", "recordedSeconds") or 0) >= 13, timeout=60)
    page.shot("04-recording")
    page.el("#record").send_keys(Keys.ENTER)  # the keyboard stops it as well as a click
    # The section still says "done" from the upload until the recorder has stopped and handed
    # its recording on, which sets "transcribing" in the same turn: wait for that first.
    page.wait("the recording to stop", lambda: page.data("#transcribe", "recording") == "false", timeout=30)
    state = page.wait_state("transcribe", ("done", "error"))
    check(state == "done", f"microphone: {page.text('#transcribe-error')!r}, status {page.text('#transcribe-status')!r}; console: {page.logs()}")
    transcript = page.text("#transcript")
    check(recall(transcript) >= 0.8, f"microphone transcript {transcript!r}")
    check("ask not what your country can do for you" in " ".join(words(transcript)), f"microphone transcript {transcript!r}")
    # What Chromium's MediaRecorder made is what was sent, not a WAV built in the page.
    sent = page.data("#transcribe", "recordedType") or ""
    check(sent.startswith("audio/webm"), f"microphone sent {sent!r}")
    page.shot("05-microphone")
    page.no_console_errors("recording from the microphone")
    print(f"microphone: {sent}: {transcript!r}")


def round_trip(page, audio):
    page.el("#rt-file").send_keys(str(audio))
    page.wait("round-trip playback", lambda: page.data("#roundtrip", "state") != "done"
              and int(page.data("#speak", "played") or 0) > 0)
    page.shot("06-round-trip")
    state = page.wait_state("roundtrip", ("done", "error"))
    check(state == "done", f"round trip: {page.text('#rt-error')}")
    transcript = page.text("#rt-transcript")
    check(recall(transcript) >= 0.9, f"round-trip transcript {transcript!r}")
    received = int(page.data("#speak", "received"))
    check(received > 3 * 22050 and int(page.data("#speak", "played")) == received, f"round trip played {received}")
    check(float(page.data("#speak", "peak")) > 0.01, "round trip: silence")
    page.no_console_errors("round trip")
    print(f"round trip: {transcript!r}, {received} samples spoken")


def bad_upload(page, base, artefacts):
    """A file that is not audio: the page shows the API's own message."""
    junk = artefacts / "not-audio.txt"
    junk.write_text("this is not audio\n" * 20)
    page.el("#file").send_keys(str(junk))
    state = page.wait_state("transcribe", ("done", "error"))
    check(state == "error", f"a text file was transcribed: {page.text('#transcript')!r}")
    shown = page.text("#transcribe-error")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"stream\"\r\n\r\ntrue\r\n"
            f"--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{junk.name}\"\r\n"
            f"content-type: text/plain\r\n\r\n{junk.read_text()}\r\n--{boundary}--\r\n").encode()
    request = urllib.request.Request(base + "/v1/audio/transcriptions", data=body, method="POST",
                                     headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    try:
        urllib.request.urlopen(request)
        raise AssertionError("the API accepted a text file")
    except urllib.error.HTTPError as e:
        message = json.load(e)["error"]["message"]
    check(shown == message, f"shown {shown!r}, the API said {message!r}")
    page.shot("07-error")
    # The browser logs the failed request itself; nothing else may be there.
    other = [e for e in page.logs() if e["level"] == "SEVERE" and e.get("source") != "network"]
    check(not other, f"console errors besides the failed request: {other}")
    print(f"bad upload: {shown!r}")


def phone(page, base):
    page.driver.set_window_size(390, 1600)
    page.driver.get(base + "/")
    page.wait("the page's script", lambda: page.js("return document.body.dataset.ready === 'true'"))
    page.wait("the voice list", lambda: page.js("return (document.querySelector('#voice').options[0] || {}).value"))
    overflow = page.js("return document.documentElement.scrollWidth - window.innerWidth")
    check(overflow <= 0, f"the page is {overflow}px wider than a phone's screen")
    page.shot("08-phone")
    page.no_console_errors("a phone-width page")


def api_key(page, base, key):
    """Against a gateway with a key: the page loads without it, says the API wants it, and
    works once it is typed in; the key is remembered across loads."""
    page.driver.get(base + "/")
    page.wait("the lists to fail", lambda: "Could not load" in page.js("return document.querySelector('#lists-status').textContent"))
    status = page.js("return document.querySelector('#lists-status').textContent")
    check(page.el("#settings").get_attribute("open") is not None, "the settings did not open for the key")
    check(page.js("return document.activeElement.id") == "api-key", "the key field is not focused")
    page.shot("09-key-needed")
    page.logs()  # the two 401 answers are logged by the browser
    field = page.el("#api-key")
    field.send_keys(key)
    field.send_keys(Keys.ENTER)
    page.wait("the lists with the key", lambda: "installed" in page.js("return document.querySelector('#lists-status').textContent"))
    page.driver.refresh()
    page.wait("the lists after a reload", lambda: "installed" in page.js("return document.querySelector('#lists-status').textContent"))
    check(page.js("return localStorage.getItem('vox.apiKey')") == key, "the key was not kept")
    page.no_console_errors("with the API key")
    print(f"api key: without it {status!r}; with it the lists load")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--audio", required=True, type=Path)
    parser.add_argument("--mic-wav", required=True, type=Path)
    parser.add_argument("--artefacts", required=True, type=Path)
    parser.add_argument("--keyed-base-url")
    parser.add_argument("--api-key")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    args.artefacts.mkdir(parents=True, exist_ok=True)
    base = args.base_url.rstrip("/")

    driver = chromium(args)
    try:
        page = Page(driver, args.artefacts)
        loads(page, base)
        upload(page, args.audio.resolve())
        speak(page)
        microphone(page)
        round_trip(page, args.audio.resolve())
        bad_upload(page, base, args.artefacts)
        phone(page, base)
        if args.keyed_base_url:
            page.driver.set_window_size(1000, 1300)
            api_key(page, args.keyed_base_url.rstrip("/"), args.api_key)
    finally:
        driver.quit()
    print("browser check: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"browser check failed: {e}", file=sys.stderr)
        sys.exit(1)
