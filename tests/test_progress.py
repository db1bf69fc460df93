"""Progress bars: tqdm's in a terminal, fewer lines in a log."""

import io

from skanime._progress import LOG_INTERVAL_S, progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_in_a_log_updates_seldom_and_ends_its_line():
    log = io.StringIO()
    with progress_bar(total=100, desc="embedding", leave=False, file=log) as bar:
        assert bar.mininterval == LOG_INTERVAL_S
        for _ in range(100):
            bar.update(1)
    text = log.getvalue()
    assert text.count("\r") == 2  # the first state and the last, not a hundred
    assert text.endswith("\n")  # what follows starts a new line
    assert "100/100" in text.split("\r")[-1]


def test_a_bar_in_a_terminal_is_tqdms():
    screen = Terminal()
    with progress_bar(total=100, desc="embedding", leave=False, file=screen) as bar:
        assert bar.mininterval == 0.1 and not bar.leave
        bar.update(100)
    assert not screen.getvalue().endswith("\n")  # cleared, as tqdm does
