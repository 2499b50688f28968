"""Screenshot the demo page's chat widget after one streamed reply (the README's picture).

A development tool, not a product dependency. It drives a running infyn server (`make run`)
with a headless Chromium through Playwright. Playwright's own browser download is not needed;
the script launches the system's Chromium:

    apt-get install -y chromium                  # Debian: /usr/bin/chromium
    # playwright (the Python package and its driver only) is a dev dependency: make install

    .venv/bin/python scripts/demo_screenshot.py                      # http://127.0.0.1:8000
    .venv/bin/python scripts/demo_screenshot.py http://127.0.0.1:8010 --out docs/demo-widget.png

It opens /demo/ (a fresh browser, so a new demo user), waits for the widget to connect,
sends a message, waits for the reply to finish streaming and saves the screenshot. It exits
non-zero, writing nothing, when the page, the widget or the reply fails.
"""

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

DEFAULT_MESSAGE = "Hi! My dog is called Biscuit."
# The widget mirrors its state on its host element (outside its shadow root), see
# static/widget/infyn-widget.js: data-infyn-state, data-infyn-busy, data-infyn-replies.
WIDGET = ".infyn-widget-host"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000", help="infyn server")
    parser.add_argument("--out", type=Path, default=Path("docs/demo-widget.png"))
    parser.add_argument("--message", default=DEFAULT_MESSAGE)
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for the reply"
    )
    return parser.parse_args(argv)


def widget_text(page: Page, selector: str) -> str:
    """The text of the widget's parts matching ``selector``, one per line."""
    return "\n".join(page.locator(f"{WIDGET} {selector}").all_inner_texts()).strip()


def take(page: Page, args: argparse.Namespace) -> str | None:
    """Drives the demo; the reason it failed, or None once the screenshot is saved."""
    demo_url = args.url.rstrip("/") + "/demo/"
    response = page.goto(demo_url, wait_until="load")
    if response is None or not response.ok:
        return f"{demo_url} answered {response.status if response else 'nothing'}"

    # Playwright's CSS selectors pierce open shadow roots, so the widget's parts are reachable.
    widget = page.locator(WIDGET)
    try:
        widget.and_(page.locator("[data-infyn-state='ready']")).wait_for(
            state="attached", timeout=30_000
        )
    except PlaywrightError:
        return f"the widget did not connect: {widget_text(page, '.infyn-status') or 'no status'}"
    replies = int(widget.get_attribute("data-infyn-replies") or "0")

    page.locator(f"{WIDGET} .infyn-input").fill(args.message)
    page.locator(f"{WIDGET} .infyn-input").press("Enter")
    finished = f"[data-infyn-busy='false'][data-infyn-replies='{replies + 1}']"
    try:
        widget.and_(page.locator(finished)).wait_for(state="attached", timeout=args.timeout * 1000)
    except PlaywrightError:
        errors = widget_text(page, ".infyn-message-error")
        return f"no finished reply within {args.timeout:.0f} s. {errors}".strip()
    errors = widget_text(page, ".infyn-message-error")
    if errors:
        return f"the widget showed an error: {errors}"

    # Let the caret's blink and the footer settle before the picture.
    page.wait_for_timeout(300)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(args.out))
    print("reply:", widget_text(page, ".infyn-message-assistant"))
    print("usage:", widget_text(page, ".infyn-footer"))
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
        try:
            page = browser.new_page(
                viewport={"width": args.width, "height": args.height},
                device_scale_factor=args.scale,
            )
            page.on("pageerror", lambda error: print("page error:", error, file=sys.stderr))
            failure = take(page, args)
        finally:
            browser.close()
    if failure:
        print(f"demo_screenshot: {failure}", file=sys.stderr)
        return 1
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
