"""download_posters against a real HTTP server on 127.0.0.1."""

import io
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from skanime.datasets import download_posters


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 14), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


class Handler(BaseHTTPRequestHandler):
    hits: dict = {}

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, code, body, content_type="image/jpeg", length=True):
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the slow response): that is the point

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/ok.jpg":
            self._send(200, _jpeg())
        elif self.path == "/missing.jpg":
            self._send(404, b"not found", "text/plain")
        elif self.path == "/slow.jpg":
            time.sleep(1.5)
            self._send(200, _jpeg())
        elif self.path == "/text.jpg":
            self._send(200, b"<html>not an image</html>", "text/html")
        elif self.path == "/huge.jpg":
            self._send(200, b"\xff" * 300_000)
        elif self.path == "/stream.jpg":  # no Content-Length: counted while read
            self.close_connection = True
            self._send(200, b"\xff" * 300_000, length=False)
        elif self.path == "/flaky.jpg":
            if Handler.hits[self.path] == 1:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, _jpeg())


@pytest.fixture
def server():
    Handler.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.slow
def test_download_posters_handles_every_failure(server, tmp_path):
    names = ["ok", "missing", "slow", "text", "huge", "flaky", "stream"]
    df = pd.DataFrame(
        {
            "anime_id": range(1, len(names) + 1),
            "image_url": [f"{server}/{n}.jpg" for n in names],
        }
    )
    df.loc[len(df)] = {"anime_id": 99, "image_url": None}  # no URL: skipped
    summary = download_posters(
        df,
        tmp_path / "cache",
        timeout=0.5,
        retries=1,
        max_bytes=100_000,
        progress=False,
    )
    assert summary.downloaded == 2 and summary.skipped == 0
    ok = summary.paths
    assert ok[0].endswith("1.jpg") and ok[5].endswith("6.jpg")
    # in the frame's order (the slow one ends last), each named by its id
    assert list(summary.failures) == [1, 2, 3, 4, 6]
    assert f"  row 2 (anime_id 3): {server}/slow.jpg: " in str(summary)
    assert "HTTP 404" in summary.failures[1]
    assert "after 2 attempts" in summary.failures[2]
    assert "not an image" in summary.failures[3]
    assert "limit" in summary.failures[4] and "limit" in summary.failures[6]
    assert Handler.hits["/missing.jpg"] == 1  # a 404 is not retried
    assert Handler.hits["/flaky.jpg"] == 2  # a 503 is
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["1.jpg", "6.jpg"]
    assert "2 poster(s) downloaded" in str(summary) and "5 failed" in str(summary)

    # resumable: a second run fetches nothing that is already there
    again = download_posters(df.iloc[[0, 5]], tmp_path / "cache", progress=False)
    assert again.skipped == 2 and again.downloaded == 0
    assert Handler.hits["/ok.jpg"] == 1


def test_missing_url_column_is_named(tmp_path):
    with pytest.raises(KeyError, match="image_url"):
        download_posters(pd.DataFrame({"x": [1]}), tmp_path)


def test_only_web_urls_are_fetched_and_ids_stay_inside_dest(server, tmp_path):
    """A file:// URL used to be read from this machine's disk (and copied into
    dest, were it an image), and an id such as "../x" named a file outside
    dest."""
    secret = tmp_path / "secret.jpg"
    Image.new("RGB", (4, 4)).save(secret)
    dest = tmp_path / "posters"
    df = pd.DataFrame(
        {
            "anime_id": [1, "../../outside", "a/b"],
            "image_url": [secret.as_uri(), f"{server}/ok.jpg", f"{server}/flaky.jpg"],
        }
    )
    summary = download_posters(df, dest, progress=False)
    assert "only http and https URLs are fetched, not file" in summary.failures[0]
    assert summary.downloaded == 2
    saved = sorted(dest.iterdir())
    assert len(saved) == 2 and all(p.parent == dest for p in saved)
    assert not (tmp_path / "outside.jpg").exists()
    assert {p.name for p in saved}.isdisjoint({"outside.jpg", "b.jpg"})
    with pytest.raises(ValueError, match="secret.jpg' is a file; name a folder"):
        download_posters(df, secret, progress=False)


@pytest.mark.slow
def test_the_posters_command_fetches_urls_and_writes_a_table_to_train_on(
    server, tmp_path, capsys
):
    """`skanime train` on a table of URLs said they are not fetched, and only
    Python's download_posters fetched them. The command writes the table with
    a poster column of the files (relative to the table's folder), keeps a
    poster file a row has, and counts the failures."""
    import json

    from skanime.cli import main
    from skanime.datasets import load_mal

    poster = tmp_path / "own.jpg"
    poster.write_bytes(_jpeg())
    records = [
        {"Title": title, "Type": "TV", "Episodes": 12, "Source": "Manga"}
        | {"Genres": "Drama", "Studios": "Bones", "Score": 7.0}
        | extra
        for title, extra in [
            ("A", {"anime_id": 1, "image_url": f"{server}/ok.jpg"}),
            ("B", {"anime_id": 2, "image_url": f"{server}/missing.jpg"}),
            ("C", {"anime_id": 3, "image_url": None}),
            (
                "D",
                {"anime_id": 4, "image_url": f"{server}/ok.jpg", "poster": "own.jpg"},
            ),
        ]
    ]
    data = tmp_path / "anime.json"
    data.write_text(json.dumps(records))
    out = tmp_path / "tables" / "anime_posters.csv"
    out.parent.mkdir()
    argv = ["posters", str(data), "--dest", str(tmp_path / "posters")]
    assert main([*argv, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Fetching 2 poster(s)" in said and "1 poster(s) downloaded" in said
    assert "row 1 (anime_id 2): " in said and "404" in said
    written = pd.read_csv(out)
    assert written["poster"].tolist()[0] == "../posters/1.jpg"
    assert written["poster"].isna().tolist()[1:3] == [True, True]
    assert written["poster"].tolist()[3] == "../own.jpg"
    table = load_mal(out)
    assert Image.open(table["poster"][0]).size == (10, 14)
    expected = load_mal(data).drop(columns="poster")
    pd.testing.assert_frame_equal(
        table.drop(columns="poster"), expected, check_dtype=False
    )
    # where no URL could be fetched, no table is written
    for record in records:
        record.update(image_url=f"{server}/missing.jpg", poster=None)
    data.write_text(json.dumps(records))
    out.unlink()
    argv[-1] = str(tmp_path / "other_posters")  # none fetched before
    assert main([*argv, "--out", str(out)]) == 2
    assert "None of the 4 poster URL(s) could be fetched" in capsys.readouterr().err
    assert not out.exists()
    # a table without URLs has nothing to fetch
    data.write_text(json.dumps([{**records[2], "image_url": None}]))
    assert main([*argv, "--out", str(out)]) == 2
    assert "gives no poster URL" in capsys.readouterr().err


@pytest.mark.slow
def test_the_posters_command_reads_any_table_and_keeps_its_columns(
    server, tmp_path, capsys
):
    """The command refused a table without MyAnimeList's Type, Source,
    Genres, ... though it needs only the URLs, and the table it wrote lost
    the columns load_mal does not read (a user's own, the Japanese title)."""
    from skanime.cli import main

    data, out = tmp_path / "own.csv", tmp_path / "own_posters.csv"
    pd.DataFrame(
        {
            "Title": ["A", "B"],
            "Japanese": ["あ", "い"],
            "Hype": ["1,200", "35"],
            "image_url": [f"{server}/ok.jpg", None],
        }
    ).to_csv(data, index=False)
    argv = ["posters", str(data), "--dest", str(tmp_path / "posters")]
    assert main([*argv, "--out", str(out)]) == 0
    assert "Wrote 2 anime to" in capsys.readouterr().out
    written = pd.read_csv(out)
    assert written.columns.tolist() == [
        *("Title", "image_url", "Japanese", "Hype", "poster"),
    ]
    assert written["Japanese"].tolist() == ["あ", "い"]
    assert written["Hype"].tolist() == [1200, 35]
    poster = tmp_path / written["poster"][0]  # relative to the table's folder
    assert Image.open(poster).size == (10, 14) and written["poster"].isna()[1]


def test_poster_urls_in_the_poster_column_are_fetched_by_the_posters_command(
    server, tmp_path, capsys
):
    """URLs in the poster column (``--poster-column cover``) were read as paths
    that lead to no file, with advice to set --poster-root, and ``skanime
    posters`` said the table gives no URL. They are kept in image_url (where
    that has none), named in one warning, and fetched; a file a row names
    stays its poster."""
    from skanime.cli import main
    from skanime.datasets import load_mal
    from skanime.exceptions import DataWarning

    (tmp_path / "own.jpg").write_bytes(_jpeg())
    data, out = tmp_path / "own.csv", tmp_path / "own_posters.csv"
    table = pd.DataFrame(
        {
            "Title": ["A", "B", "C"],
            "cover": [f"{server}/ok.jpg", "own.jpg", f"{server}/ok.jpg"],
            "image_url": [None, None, "https://example.org/given.jpg"],
        }
    )
    table.to_csv(data, index=False)
    names = {"cover": "poster"}
    with pytest.warns(DataWarning, match=r"2 poster\(s\) are URLs \(first: 'http"):
        read = load_mal(data, names=names, fill_absent=False)
    assert read["poster"].isna().tolist() == [True, False, True]
    assert read["image_url"].fillna("").tolist() == [
        *(f"{server}/ok.jpg", "", "https://example.org/given.jpg")
    ]
    table.drop(columns="image_url").to_csv(data, index=False)
    argv = ["posters", str(data), "--dest", str(tmp_path / "posters")]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main([*argv, "--out", str(out), "--poster-column", "cover"]) == 0
    assert "Fetching 2 poster(s)" in capsys.readouterr().out
    # the warning says to run this command: not said by it
    assert not [w for w in seen if "are URLs" in str(w.message)]
    written = load_mal(out, fill_absent=False)
    assert written["poster"].notna().all()
    assert Path(written["poster"][1]) == (tmp_path / "own.jpg").resolve()


def test_the_posters_command_writes_the_images_a_table_holds_as_files(tmp_path, capsys):
    """A Parquet table of posters held as Hugging Face images ({"bytes",
    "path"}) written as CSV by the command held them as their text, a path to
    no file: the posters were lost. They are written to --dest as files."""
    from skanime.cli import main
    from skanime.datasets import load_mal

    jpeg = _jpeg()
    data = tmp_path / "anime.parquet"
    pd.DataFrame(
        {
            "Title": ["A", "B", "C"],
            "Type": "TV",
            "Episodes": 12,
            "Source": "Manga",
            "Genres": "Drama",
            "Studios": "Bones",
            "Score": 7.0,
            "poster": [
                {"bytes": jpeg, "path": "a.jpg"},
                {"bytes": None, "path": None},
                None,
            ],
        }
    ).to_parquet(data)
    out = tmp_path / "anime.csv"
    argv = ["posters", str(data), "--dest", str(tmp_path / "posters"), "--out"]
    assert main([*argv, str(out)]) == 0
    said = capsys.readouterr().out
    assert "Wrote 1 poster(s) the table held" in said
    assert "1 poster cell(s) hold no image" in said and "'bytes' are None" in said
    table = load_mal(out)
    assert Path(table["poster"][0]).read_bytes() == jpeg
    assert Path(table["poster"][0]).suffix == ".jpg"
    assert table["poster"].isna().tolist()[1:] == [True, True]
