"""load_mal on every quirk of scraped MyAnimeList data, and make_anime."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanime.datasets import (
    load_mal,
    make_anime,
    parse_aired,
    parse_duration,
    two_digit_year_span,
)
from skanime.exceptions import ColumnError, DataWarning, SkanimeError, TargetError

HEADER = (
    "anime_id,Title,Type,Japanese,Aired,Episodes,Duration,Score,Source,Genres,"
    "Themes,Licensors,Producers,Rating,Status,Studios,Members,poster\n"
)
ROWS = [
    '1,A,TV,x,"Apr 5, 2009 to Jul 4, 2010",64,24 min. per ep.,9.14,Manga,'
    '"Action, Drama",Military,Funimation,"Aniplex,Dentsu",PG-13 - Teens 13 or older,'
    'Finished Airing,Bones,"2,893,578",posters/1.jpg',
    '2,B,Movie,x,"Sep 1, 2001",1,1 hr. 55 min.,N/A,Original," Drama ,  Romance ",,'
    'None found,add some,,Finished Airing,add some,"1,024",posters/missing.jpg',
    "3,C,ONA,x,9-Nov-18,Unknown,30 sec.,,Game,,,,,G - All Ages,Currently Airing,"
    "Studio Deen,5,",
    ",D,OVA,x,2005 to ?,2,Unknown,6.5,Manga,Comedy,,,,R+ - Mild Nudity,"
    "Finished Airing,OLM,10,",
]


@pytest.fixture
def mal_csv(tmp_path):
    (tmp_path / "posters").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "posters" / "1.jpg")
    path = tmp_path / "anime.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_load_mal_cleans_every_quirk(mal_csv):
    with pytest.warns(
        DataWarning, match=r"1 poster path\(s\) lead to no file.*poster_root"
    ) as record:
        df = load_mal(mal_csv)
    assert record[0].filename == __file__  # points at the caller's line
    assert df.attrs["source"] == str(mal_csv)
    assert list(df["anime_id"].astype("Float64").fillna(-1)) == [1, 2, 3, -1]
    np.testing.assert_array_equal(df["Episodes"], [64, 1, np.nan, 2])
    np.testing.assert_allclose(df["Duration"], [24, 115, 0.5, np.nan])
    np.testing.assert_array_equal(df["Year"], [2009, 2001, 2018, 2005])
    assert df["Season"].tolist()[:3] == ["Spring", "Summer", "Fall"]
    assert pd.isna(df["Season"].iloc[3])
    np.testing.assert_array_equal(df["Members"], [2893578, 1024, 5, 10])
    assert df["Genres"].tolist()[:2] == ["Action, Drama", "Drama, Romance"]
    assert df["Producers"].iloc[0] == "Aniplex, Dentsu"
    assert df[["Studios", "Licensors", "Producers"]].iloc[1].isna().all()
    assert pd.isna(df["Rating"].iloc[1])
    assert df["poster"].iloc[0] == str((mal_csv.parent / "posters" / "1.jpg").resolve())
    assert df["poster"].iloc[1:].isna().all()  # a path to no file is missing
    np.testing.assert_array_equal(df["Score"], [9.14, np.nan, np.nan, 6.5])


def test_load_mal_dropna_and_return_X_y(mal_csv):
    with pytest.warns(DataWarning, match="poster_root"):
        X, y = load_mal(mal_csv, dropna=True, return_X_y=True)
    assert len(X) == 2 and "Score" not in X and y.tolist() == [9.14, 6.5]


def test_a_folder_is_refused_naming_the_tables_it_holds(mal_csv):
    folder = mal_csv.parent
    one = f"It holds one: pass {str(mal_csv)!r}"
    with pytest.raises(SkanimeError, match="is a folder; name the table") as info:
        load_mal(folder)
    assert one in str(info.value)
    (folder / "more.parquet").write_bytes(b"PAR1")
    with pytest.raises(SkanimeError, match=r"It holds 2: anime.csv, more.parquet\."):
        load_mal(folder)
    with pytest.raises(SkanimeError, match=r"It holds no table \(\.csv, "):
        load_mal(folder / "posters")


def test_a_url_or_an_empty_path_is_refused_and_a_home_path_is_expanded(
    mal_csv, monkeypatch
):
    with pytest.raises(SkanimeError, match="is a URL: load_mal reads local files"):
        load_mal("https://example.com/anime.csv")
    with pytest.raises(FileNotFoundError, match="the path is empty"):
        load_mal("")
    monkeypatch.setenv("HOME", str(mal_csv.parent.parent))
    with pytest.warns(DataWarning, match="poster_root"):
        df = load_mal(f"~/{mal_csv.parent.name}/{mal_csv.name}")
    assert df.attrs["source"] == str(mal_csv) and len(df) == 4


@pytest.mark.parametrize("copy", ["Genres", " Genres ", "Title"])
def test_a_column_named_twice_is_refused_naming_it_and_its_places(mal_csv, copy):
    """pandas renames a repeated header name ("Genres.1"), which left one of
    the two out without a word; a name that repeats another once stripped
    failed deep in pandas."""
    text = mal_csv.read_text(encoding="utf-8").splitlines()
    text = [f"{text[0]},{copy}"] + [f"{line},x" for line in text[1:]]
    mal_csv.write_text("\n".join(text) + "\n", encoding="utf-8")
    header = text[0].split(",")
    place = f"{copy.strip()!r} as columns {header.index(copy.strip()) + 1} and "
    with pytest.raises(ColumnError, match="names a column more than once") as info:
        load_mal(mal_csv)
    assert f"{place}{len(header)} (counting from 1" in str(info.value)
    frame = pd.read_csv(mal_csv, dtype=str, keep_default_na=False)
    frame.columns = header  # a DataFrame may hold the two names as they are
    with pytest.raises(ColumnError, match=f"the table given .* {place}"):
        load_mal(frame)


def test_rows_with_more_fields_than_the_header_are_read_or_named(tmp_path):
    """A comma at the end of every row made pandas take each row's first field
    for an index and shift the others a column (anime_id under Title), which
    ended in a TypeError; empty fields beyond the header are now dropped, and
    a value there is refused with its row and line."""
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "".join(f"{row},\n" for row in ROWS), encoding="utf-8")
    with pytest.warns(DataWarning, match="poster_root"):
        df = load_mal(path)
    assert df["Title"].tolist() == ["A", "B", "C", "D"]
    np.testing.assert_array_equal(df["Score"], [9.14, np.nan, np.nan, 6.5])
    # a header with empty names (a spreadsheet's empty columns) is read too
    empty_columns = "".join(f"{row},,\n" for row in ROWS)
    path.write_text(HEADER.replace("\n", ",,\n") + empty_columns, encoding="utf-8")
    with pytest.warns(DataWarning, match="poster_root"):
        assert load_mal(path)["Title"].tolist() == ["A", "B", "C", "D"]
    n = HEADER.count(",") + 1
    for position, problem in [
        (0, f"row 1 (line 2) has {n + 1} fields, and the header names {n}."),
        (2, f"Expected {n} fields in line 4, saw {n + 1}."),  # pandas' words
    ]:
        rows = list(ROWS)
        rows[position] += ",Comedy"
        path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        with pytest.raises(SkanimeError, match="A value holding the separator") as info:
            load_mal(path)
        assert problem in str(info.value)


def test_rows_with_more_fields_are_read_as_the_clean_file_in_two_reads(
    tmp_path, monkeypatch
):
    """A file whose rows end in a comma was read in full three times by pandas
    3 (and its header once more); the rows read to find the extra fields are the
    table, under the header's names as pandas gives them (an empty one
    too)."""
    from skanime.datasets._mal import _read_mal_csv

    header = HEADER.replace(",poster\n", ",poster,\n")  # an empty name
    clean, trailing = tmp_path / "clean.csv", tmp_path / "trailing.csv"
    clean.write_text(header + "".join(f"{row},\n" for row in ROWS), encoding="utf-8")
    trailing.write_text(
        header + "".join(f"{row},,\n" for row in ROWS), encoding="utf-8"
    )
    full_reads = []
    read_csv = pd.read_csv

    def counted(*args, **kwargs):
        if kwargs.get("nrows") is None:
            full_reads.append(args[0])
        return read_csv(*args, **kwargs)

    expected = _read_mal_csv(clean)
    monkeypatch.setattr(pd, "read_csv", counted)
    read = _read_mal_csv(trailing)
    pd.testing.assert_frame_equal(read, expected)
    # pandas before 3 reads such a file in one go (no ParserWarning)
    assert len(full_reads) <= 2
    assert read.columns[-1].startswith("Unnamed")  # the empty name, as pandas names it


def test_a_row_that_repeats_the_header_is_named(tmp_path):
    """Two exports joined into one file: the second header's Score, "Score",
    was named as a bad number."""
    path = tmp_path / "joined.csv"
    path.write_text(HEADER + ROWS[0] + "\n" + HEADER + ROWS[3] + "\n" + HEADER)
    with pytest.raises(SkanimeError, match="repeats the header") as info:
        load_mal(path)
    assert "row 3 (line in the file)" in str(info.value)
    assert "(2 such rows)" in str(info.value)


def test_an_empty_file_or_table_is_named_as_empty(tmp_path):
    """Said "lacks the column(s) [...]; it has []", or pandas' "No columns to
    parse from file"."""
    for name, text in [("a.csv", ""), ("b.csv", "\n\n"), ("c.json", "[]")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(SkanimeError, match=f"'.*{name}' is empty: it holds no"):
            load_mal(tmp_path / name)
    for table in ([], {}, pd.DataFrame()):
        with pytest.raises(SkanimeError, match="the table given is empty"):
            load_mal(table)


def test_load_mal_can_leave_absent_columns_out(tmp_path):
    path = tmp_path / "few.csv"
    pd.DataFrame(
        {
            "Title": ["A", "B"],
            "Type": ["TV", "Movie"],
            "Episodes": ["12", "1"],
            "Source": ["Manga", "Original"],
            "Genres": ["Action", "Drama"],
            "Studios": ["Bones", "Shaft"],
            "Score": ["7.1", "8.0"],
        }
    ).to_csv(path, index=False)
    filled = load_mal(path)
    assert filled[["Rating", "Year", "Season", "poster"]].isna().all().all()
    kept = load_mal(path, fill_absent=False)
    assert set(kept.columns) == {
        "Title",
        "Type",
        "Episodes",
        "Source",
        "Genres",
        "Studios",
        "Score",
    }
    pd.testing.assert_frame_equal(kept, filled[kept.columns])


def test_other_columns_are_kept_typed_and_the_papers_need_not_be_there(tmp_path):
    """load_mal dropped every column it does not read, so `skanime train
    --columns auto` ("every column gets a role") trained without a table's own
    columns and never listed them, and a table without Studios or Source was
    refused even where the model would not read them. With other_columns=True
    they are kept (numbers read as numbers); with fill_absent=False the
    paper's columns are not required."""
    path = tmp_path / "own.csv"
    pd.DataFrame(
        {
            "Title": ["A", "B", "C"],
            "Episodes": ["12", "1", "24"],
            "Hype": ["1,200", "Unknown", "35"],
            "Rate": ["0.5", "2", ""],
            "Big": ["12345678901234567890", "1", "2"],
            "Note": ["  so  good", "", "N/A"],
            "Code": ["7", "x7", "8"],
            "Unnamed: 5": ["", "", ""],
            "Score": ["7.1", "8.0", "6.5"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(ColumnError, match=r"lacks the column\(s\) \['Type', 'Sou"):
        load_mal(path)  # the paper's columns, made up as empty ones, are not
    frame = load_mal(path, fill_absent=False, other_columns=True)
    assert frame.columns.tolist() == [
        *("Title", "Episodes", "Score", "Hype", "Rate", "Big", "Note", "Code"),
    ]
    # whole numbers as Int64 (an id reads as written), others as floats
    assert (
        frame["Hype"].tolist() == [1200, pd.NA, 35] and frame["Hype"].dtype == "Int64"
    )
    assert frame["Rate"].tolist()[:2] == [0.5, 2.0] and np.isnan(frame["Rate"][2])
    # too large for a float to hold exactly: floats, as before (Int64 raised)
    assert frame["Big"].dtype == np.float64 and frame["Big"][0] == 1.2345678901234567e19
    assert frame["Note"][0] == "so good" and frame["Note"][1:].isna().all()
    assert frame["Code"].tolist() == ["7", "x7", "8"]  # not every one a number
    assert frame["Episodes"].tolist() == [12.0, 1.0, 24.0]  # read as before
    assert "Hype" not in load_mal(path, fill_absent=False).columns
    # a MyAnimeList file's own columns: its Japanese title, which load_mal drops
    mal = tmp_path / "mal.csv"
    mal.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    with_japanese = load_mal(mal, other_columns=True)
    assert with_japanese.columns[-1] == "Japanese"
    pd.testing.assert_frame_equal(with_japanese.drop(columns="Japanese"), load_mal(mal))


def test_kaggle_column_names_are_mapped(tmp_path):
    path = tmp_path / "kaggle.csv"
    path.write_text(
        "anime_id,Name,Score,Genres,Type,Episodes,Aired,Studios,Source,Duration,"
        "Rating,Image URL\n"
        '5,Kaggle Show,UNKNOWN,"Action, Comedy",TV,UNKNOWN,"Apr 2009",Bones,Manga,'
        "24 min per ep,PG-13 - Teens 13 or older,https://example.invalid/5.jpg\n"
    )
    df = load_mal(path)
    assert df["Title"].iloc[0] == "Kaggle Show"
    assert np.isnan(df["Score"].iloc[0]) and np.isnan(df["Episodes"].iloc[0])
    assert df["image_url"].iloc[0] == "https://example.invalid/5.jpg"
    assert df["Year"].iloc[0] == 2009 and pd.isna(df["Themes"].iloc[0])


def test_kaggle_premiered_gives_the_year_and_season_aired_does_not(tmp_path):
    """Kaggle's Premiered ("spring 1998") fills Year and Season where Aired has
    no date, and never overrides a date Aired gives."""
    path = tmp_path / "kaggle.csv"
    path.write_text(
        "Name,Genres,Type,Episodes,Aired,premiered,Studios,Source\n"
        "A,Action,TV,12,Not available,spring 1998,Bones,Manga\n"
        'B,Action,TV,12,"Oct 3, 2001 to Mar 2002",summer 2001,Bones,Manga\n'
        "C,Action,TV,12,Not available,UNKNOWN,Bones,Manga\n"
    )
    df = load_mal(path)
    assert df["Year"].tolist()[:2] == [1998.0, 2001.0] and np.isnan(df["Year"][2])
    assert df["Season"].tolist()[:2] == ["Spring", "Fall"]
    assert pd.isna(df["Season"][2])
    # without Aired, Premiered alone still gives them to a model's predict
    pd.read_csv(path).drop(columns="Aired").to_csv(path, index=False)
    kept = load_mal(path, fill_absent=False)
    assert kept["Year"].tolist()[:2] == [1998.0, 2001.0]
    assert kept["Season"].tolist()[:2] == ["Spring", "Summer"]


def test_column_names_in_another_case_are_mapped(tmp_path, mal_csv):
    expected = load_mal(mal_csv)
    lower = tmp_path / "lower.csv"
    raw = pd.read_csv(mal_csv)
    raw.rename(columns=str.lower).rename(columns={"genres": "GENRES"}).to_csv(
        lower, index=False
    )
    pd.testing.assert_frame_equal(
        load_mal(lower).drop(columns="poster"), expected.drop(columns="poster")
    )
    spaced = tmp_path / "spaced.csv"  # spacing, and the 2020 Kaggle id's name
    raw.rename(columns={"anime_id": "MAL_ID", "Genres": "gen res"}).to_csv(
        spaced, index=False
    )
    pd.testing.assert_frame_equal(
        load_mal(spaced).drop(columns="poster"), expected.drop(columns="poster")
    )
    # a name as written wins; two columns naming one in other cases: neither
    both = tmp_path / "both.csv"
    raw.assign(genres="Horror", GENRES="Drama").to_csv(both, index=False)
    assert load_mal(both)["Genres"].equals(expected["Genres"])
    twice = tmp_path / "twice.csv"
    raw.drop(columns="Genres").assign(genres="Horror", GENRES="Drama").to_csv(
        twice, index=False
    )
    with pytest.raises(ColumnError, match=r"lacks the column\(s\) \['Genres'\]"):
        load_mal(twice)


def test_load_mal_errors_name_file_column_and_row(tmp_path, mal_csv):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_mal(tmp_path / "nope.csv")
    no_genres = tmp_path / "no_genres.csv"
    pd.read_csv(mal_csv).drop(columns="Genres").to_csv(no_genres, index=False)
    # and how to read it without them
    with pytest.raises(
        ColumnError,
        match=r"no_genres.csv.*\['Genres'\].*: load_mal\(\.\.\., fill_absent=False\), "
        "as skanime train --columns auto does",
    ):
        load_mal(no_genres)
    assert "Genres" not in load_mal(no_genres, fill_absent=False)
    bad_score = tmp_path / "bad_score.csv"
    bad_score.write_text(HEADER + ROWS[0].replace(",9.14,", ",great,") + "\n")
    with pytest.raises(TargetError, match=r"row 2 .*'great' is not a number"):
        load_mal(bad_score)
    comma = tmp_path / "comma.csv"  # a European spreadsheet's decimal comma
    comma.write_text(HEADER + ROWS[0].replace(",9.14,", ',"9,14",') + "\n")
    with pytest.raises(TargetError, match=r"with a point \('9.14'\), not a comma"):
        load_mal(comma)
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    with pytest.raises(SkanimeError, match="holds no rows"):
        load_mal(empty)
    unscored = tmp_path / "unscored.csv"
    pd.read_csv(mal_csv).assign(Score="").to_csv(unscored, index=False)
    with pytest.raises(SkanimeError, match="unscored.csv' has no scored rows"):
        load_mal(unscored, dropna=True)
    assert load_mal(unscored)["Score"].isna().all()  # to predict, scores are not needed
    no_score = tmp_path / "no_score.csv"
    rated = pd.read_csv(mal_csv).rename(columns={"Score": "avg_rating"})
    rated.to_csv(no_score, index=False)
    # the columns it has, so that the one holding the scores can be renamed
    with pytest.raises(
        SkanimeError,
        match=r"no_score.csv' has no Score column; scores are needed here. It "
        r"has \['anime_id', .*'avg_rating', .*\]: name the column of scores 'Score'",
    ):
        load_mal(no_score, dropna=True)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    with pytest.raises((SkanimeError, ColumnError), match="binary.csv"):
        load_mal(binary)


def test_names_read_a_tables_own_names_for_the_scores_and_posters(mal_csv, tmp_path):
    """A table whose scores are ``avg_rating`` and whose posters are ``cover``
    was refused ("no Score column") or read without posters: ``names`` maps
    them, from a file, an open file or a table given, and the frame is the
    one read under the usual names."""
    usual = load_mal(mal_csv)
    assert usual["poster"].notna().any()
    own = pd.read_csv(mal_csv, dtype=str).rename(
        columns={"Score": "avg_rating", "poster": "cover"}
    )
    path = tmp_path / "own.csv"
    own.to_csv(path, index=False)
    names = {"avg_rating": "Score", " cover ": "poster"}  # spaces ignored
    read = load_mal(path, names=names)
    pd.testing.assert_frame_equal(read, usual)
    with open(path, "rb") as file:
        pd.testing.assert_frame_equal(load_mal(file, names=names), usual)
    given = load_mal(own, names=names, poster_root=tmp_path)
    pd.testing.assert_frame_equal(given, usual)
    # a score that is not a number is named by the table's name for it
    own.loc[1, "avg_rating"] = "great"
    with pytest.raises(TargetError, match=r"row 1 .*: avg_rating 'great' is not"):
        load_mal(own, names=names, poster_root=tmp_path)
    # without names, the scores are not found and the posters are a column
    # of the file's own
    assert load_mal(path)["Score"].isna().all()
    assert load_mal(path, other_columns=True)["poster"].isna().all()


@pytest.mark.parametrize(
    "names, error, match",
    [
        (
            {"rating": "Score"},
            ColumnError,
            r"'rating' given for 'Score': .*own.csv' "
            r"has no such column; it has \['anime_id'",
        ),
        (
            {"avg_rating": "score"},
            ColumnError,
            r"'score' is not a column load_mal "
            r"reads; it reads \['Title'",
        ),
        (
            {"avg_rating": "Score", "Title": "Score"},
            ColumnError,
            "names more than one column 'Score'",
        ),
        (
            {"Members": "Score", "avg_rating": "Title"},
            ColumnError,
            r"'avg_rating' given for 'Title': .*already has a column 'Title'",
        ),
        (["avg_rating", "Score"], TypeError, "names must be a dict"),
    ],
)
def test_names_that_cannot_be_read_are_refused_naming_them(
    mal_csv, tmp_path, names, error, match
):
    path = tmp_path / "own.csv"
    pd.read_csv(mal_csv, dtype=str).rename(columns={"Score": "avg_rating"}).to_csv(
        path, index=False
    )
    with pytest.raises(error, match=match):
        load_mal(path, names=names)
    # a column given for one already there, itself renamed away: a swap
    usual = load_mal(path, names={"avg_rating": "Score"})
    swapped = load_mal(path, names={"Title": "Status", "Status": "Title"})
    assert swapped["Title"].equals(usual["Status"])
    assert swapped["Status"].equals(usual["Title"])


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_spreadsheets_semicolon_or_tab_csv_reads_as_the_comma_one(mal_csv, sep):
    """Spreadsheets in some locales save ";"-separated CSVs (the labels inside
    keep their commas); the header tells the separator."""
    other = mal_csv.with_name("other.csv")
    pd.read_csv(mal_csv, dtype=str).to_csv(other, sep=sep, index=False)
    pd.testing.assert_frame_equal(load_mal(other), load_mal(mal_csv))


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_excels_sep_line_names_the_separator(mal_csv, sep):
    """A first line "sep=;" (which Excel reads, and some exports write) names
    the separator; rows are still named by their line in the file."""
    other = mal_csv.with_name("excel.csv")
    frame = pd.read_csv(mal_csv, dtype=str)
    other.write_text(f"sep={sep}\n" + frame.to_csv(sep=sep, index=False))
    pd.testing.assert_frame_equal(load_mal(other), load_mal(mal_csv))
    frame.loc[2, "Score"] = "high"  # the 3rd row: line 5 after "sep=" and header
    other.write_text(f"sep={sep}\n" + frame.to_csv(sep=sep, index=False))
    with pytest.raises(TargetError, match=r"row 5 \(line in the file\)"):
        load_mal(other)


def test_a_spreadsheets_unicode_text_reads_as_the_csv(mal_csv):
    """A spreadsheet's "Unicode Text": UTF-16 with its byte-order mark, tabs."""
    other = mal_csv.with_name("unicode.txt")
    frame = pd.read_csv(mal_csv, dtype=str)
    frame.to_csv(other, sep="\t", index=False, encoding="utf-16")
    assert other.read_bytes()[:2] == b"\xff\xfe"
    pd.testing.assert_frame_equal(load_mal(other), load_mal(mal_csv))


def test_a_csv_that_is_not_utf8_says_how_to_save_it(mal_csv):
    latin1 = mal_csv.with_name("latin1.csv")
    latin1.write_bytes(mal_csv.read_text().replace(",A,", ",Café,").encode("latin-1"))
    with pytest.raises(SkanimeError, match=r"latin1.csv.*not UTF-8.*0xe9.*CSV UTF-8"):
        load_mal(latin1)


def _workbook_like(path):
    """A zip archive with the first member of an .xlsx workbook."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")


def test_an_excel_file_is_named_with_how_to_convert_it(mal_csv):
    """It was read as text: "not UTF-8 ... save it as UTF-8". A compressed CSV
    (by its suffix) is still read."""
    frame = pd.read_csv(mal_csv)
    path = mal_csv.with_name("a.xlsx")
    _workbook_like(path)
    with pytest.raises(
        SkanimeError, match=r"a.xlsx.*zip archive \(an Excel .xlsx workbook\?\)"
    ):
        load_mal(path)
    for name in ("anime.csv.zip", "anime.csv.gz"):  # the zip's header was binary
        compressed = mal_csv.with_name(name)
        frame.to_csv(compressed, index=False)
        pd.testing.assert_frame_equal(load_mal(compressed), load_mal(mal_csv))


def test_parquet_and_json_tables_load_as_their_csv(mal_csv):
    """They were refused ("convert it first"); their typed cells (numbers,
    lists of labels, dates) now read as the CSV's text does."""
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(mal_csv)
    typed = frame.assign(
        Genres=frame["Genres"].str.split(","),  # a list column, as Parquet has it
        Aired=pd.to_datetime(["2009-04-05", "2001-09-01", "2018-11-09", None]),
    )
    expected = load_mal(mal_csv).reset_index(drop=True)
    expected[["Year", "Season"]] = [[2009.0, "Spring"], [2001.0, "Summer"]] + [
        [2018.0, "Fall"],
        [np.nan, np.nan],
    ]
    writers = {
        "a.parquet": lambda p: typed.to_parquet(p),
        "a.json": lambda p: typed.to_json(p, orient="records", date_format="iso"),
        "a.jsonl": lambda p: typed.to_json(
            p, orient="records", lines=True, date_format="iso"
        ),
    }
    for name, write in writers.items():
        path = mal_csv.with_name(name)
        write(path)
        loaded = load_mal(path)
        pd.testing.assert_frame_equal(loaded, expected, check_dtype=False, obj=name)
    # a poster's bytes are kept for the model to read (skanime._held_images)
    poster = (mal_csv.parent / "posters" / "1.jpg").read_bytes()
    typed.assign(poster=[poster, None, None, None]).to_parquet(mal_csv.with_name("b"))
    assert load_mal(mal_csv.with_name("b"))["poster"].tolist()[:2] == [poster, np.nan]
    # a bad score is named by its position, as there are no lines to count
    bad = frame.assign(Score=frame["Score"].astype(object))
    bad.loc[1, "Score"] = "8.5/10"
    bad.astype({"Score": str}).to_parquet(mal_csv.with_name("bad.parquet"))
    with pytest.raises(TargetError, match=r"row 1 \(counting from 0\): Score '8.5/10'"):
        load_mal(mal_csv.with_name("bad.parquet"))


def test_json_objects_in_a_table_read_as_their_text(mal_csv):
    """As the Jikan API nests them: genres as objects with a name, the air
    date as an object with its string."""
    frame = pd.read_csv(mal_csv)
    nested = frame.assign(
        Genres=frame["Genres"].map(
            lambda g: (
                [{"mal_id": 1, "name": n} for n in str(g).split(",")]
                if isinstance(g, str)
                else []
            )
        ),
        Aired=frame["Aired"].map(
            lambda a: {"from": None, "string": a} if isinstance(a, str) else None
        ),
    )
    path = mal_csv.with_name("jikan.json")
    nested.to_json(path, orient="records")
    expected = load_mal(mal_csv).reset_index(drop=True)
    pd.testing.assert_frame_equal(load_mal(path), expected, check_dtype=False)


def test_an_api_answer_saved_as_it_came_reads_as_its_records(tmp_path):
    """Jikan's answer is an object whose "data" holds the records, each with a
    "mal_id" and an "images" object: they read as the table, its anime_id and
    image_url. One anime given as its record (its genres a list of objects)
    stays one anime."""
    record = {
        "mal_id": 5114,
        "title": "Fullmetal Alchemist: Brotherhood",
        "type": "TV",
        "source": "Manga",
        "episodes": 64,
        "genres": [{"mal_id": 1, "type": "anime", "name": "Action"}],
        "studios": [{"mal_id": 4, "type": "anime", "name": "Bones"}],
        "images": {"jpg": {"image_url": "https://example.invalid/5114.jpg"}},
        "score": 9.1,
    }
    answer = tmp_path / "answer.json"
    answer.write_text(
        json.dumps({"pagination": {"has_next_page": False}, "data": [record, record]})
    )
    frame = load_mal(answer)
    assert len(frame) == 2 and frame["anime_id"].tolist() == [5114, 5114]
    assert frame["image_url"].tolist() == ["https://example.invalid/5114.jpg"] * 2
    assert frame["Genres"].tolist() == ["Action"] * 2
    one = tmp_path / "one.json"
    one.write_text(json.dumps([record]))
    assert load_mal(one)["Title"].tolist() == [record["title"]]


@pytest.mark.parametrize("orient", ["columns", "index", "split", "table", "records"])
def test_every_layout_pandas_writes_json_in_reads_as_the_table(mal_csv, orient):
    """pandas' default ``to_json`` (orient="columns") read as one row of
    blanks; "index" and "split" were refused as lacking every column; a
    record array written with an indent was refused as JSON Lines."""
    frame = pd.read_csv(mal_csv)
    path = mal_csv.with_name("anime.json")
    frame.to_json(path, orient=orient, indent=2)
    expected = load_mal(mal_csv).reset_index(drop=True)
    pd.testing.assert_frame_equal(load_mal(path), expected, check_dtype=False)


def test_json_that_is_no_table_is_refused_saying_why(tmp_path):
    """An array of arrays names no column; a broken line of JSON Lines is
    named."""
    path = tmp_path / "values.json"
    pd.DataFrame({"Title": ["A"], "Type": ["TV"]}).to_json(path, orient="values")
    with pytest.raises(SkanimeError, match=r"array of arrays.*orient='records'"):
        load_mal(path)
    lines = tmp_path / "anime.jsonl"
    lines.write_text('{"Title": "A"}\n\n{"Title": "B", }\n')
    with pytest.raises(SkanimeError, match=r"JSON Lines.*line 3: "):
        load_mal(lines)


ANILIST_MEDIA = {
    "id": 5114,
    "idMal": 5114,
    "title": {"romaji": "Hagane no Renkinjutsushi", "english": "FMA: Brotherhood"},
    "type": "ANIME",
    "format": "TV",
    "status": "FINISHED",
    "episodes": 64,
    "duration": 24,
    "source": "MANGA",
    "genres": ["Action", "Thriller", "Mecha"],
    "tags": [
        {"name": "Military", "rank": 90},
        {"name": "Love Triangle", "rank": 70},
        {"name": "Cooking", "rank": 20},
        {"name": "Time Travel", "rank": 95, "isMediaSpoiler": True},
    ],
    "studios": {
        "edges": [
            {"isMain": True, "node": {"name": "Bones", "isAnimationStudio": True}},
            {"isMain": False, "node": {"name": "Aniplex", "isAnimationStudio": False}},
        ]
    },
    "startDate": {"year": 2009, "month": 4, "day": 5},
    "season": "SPRING",
    "seasonYear": 2009,
    "averageScore": 90,
    "coverImage": {"large": "https://example.invalid/5114.jpg"},
}


def test_an_anilist_answer_reads_in_myanimelists_columns_and_words(tmp_path):
    """AniList's GraphQL answer was refused ("lacks the column(s) ['Title',
    ...]; it has ['data']"); its records, read one by one, lost their titles
    and studios (objects) and kept AniList's words ("TV_SHORT",
    "LIGHT_NOVEL"), which a model trained on MyAnimeList's table does not
    know."""
    short = {
        "title": {"romaji": None, "english": "A Short"},
        "format": "TV_SHORT",
        "source": "LIGHT_NOVEL",
        "status": "NOT_YET_RELEASED",
        "episodes": None,
        "genres": ["Comedy"],
        "studios": {"nodes": [{"name": "Studio Deen"}]},
        "startDate": {"year": 2027, "month": None, "day": None},
        "season": "WINTER",
        "seasonYear": 2027,
        "averageScore": None,
    }
    answer = {"data": {"Page": {"pageInfo": {}, "media": [ANILIST_MEDIA, short]}}}
    path = tmp_path / "anilist.json"
    path.write_text(json.dumps(answer, indent=2))
    frame = load_mal(path)
    assert frame["anime_id"].tolist()[0] == 5114 and pd.isna(frame["anime_id"][1])
    assert frame["Title"].tolist() == ["Hagane no Renkinjutsushi", "A Short"]
    assert frame["Type"].tolist() == ["TV", "TV"]
    assert frame["Source"].tolist() == ["Manga", "Light novel"]
    assert frame["Status"].tolist() == ["Finished Airing", "Not yet aired"]
    assert frame["Genres"].tolist() == ["Action, Suspense", "Comedy"]
    assert frame["Themes"].tolist()[0] == "Mecha, Military, Love Polygon"
    assert frame["Studios"].tolist() == ["Bones", "Studio Deen"]
    assert frame["Producers"].tolist()[0] == "Aniplex"
    assert frame["Episodes"].tolist()[0] == 64 and frame["Duration"][0] == 24
    assert frame[["Year", "Season"]].values.tolist() == [
        [2009.0, "Spring"],
        [2027.0, "Winter"],
    ]
    assert frame["Score"].tolist()[0] == 9.0 and pd.isna(frame["Score"][1])
    assert frame["image_url"].tolist()[0] == "https://example.invalid/5114.jpg"
    # one anime's answer, and AniList's records one a line
    path.write_text(json.dumps({"data": {"Media": ANILIST_MEDIA}}))
    pd.testing.assert_frame_equal(load_mal(path), frame.iloc[:1])
    lines = tmp_path / "anilist.jsonl"
    lines.write_text(json.dumps(ANILIST_MEDIA) + "\n" + json.dumps(short) + "\n")
    pd.testing.assert_frame_equal(load_mal(lines), frame)


def test_a_table_already_read_loads_as_its_file(mal_csv, tmp_path):
    """A DataFrame (``pd.read_excel``) or parsed JSON (an API's answer as
    ``requests.get(url).json()`` gives it) had to be written to a file first;
    messages name it as the table given."""
    frame = pd.read_csv(mal_csv)
    expected = load_mal(mal_csv, poster_root=mal_csv.parent)
    given = load_mal(frame, poster_root=mal_csv.parent)
    pd.testing.assert_frame_equal(given, expected, check_dtype=False)
    records = json.loads(frame.to_json(orient="records"))
    from_records = load_mal(records, poster_root=mal_csv.parent)
    pd.testing.assert_frame_equal(from_records, expected, check_dtype=False)
    answer = {"data": {"Page": {"media": [ANILIST_MEDIA]}}}
    path = tmp_path / "anilist.json"
    path.write_text(json.dumps(answer))
    pd.testing.assert_frame_equal(load_mal(answer), load_mal(path))
    bad = frame.assign(Score=frame["Score"].astype(object))
    bad.loc[1, "Score"] = "8.5/10"
    with pytest.raises(TargetError, match=r"^the table given, row 1 \(counting"):
        load_mal(bad)
    with pytest.raises(ColumnError, match=r"^the table given lacks .*'Type'"):
        load_mal([{"Title": "A"}])


def test_an_open_file_loads_as_its_file(mal_csv, monkeypatch):
    """An open file (``sys.stdin.buffer``, a download's ``io.BytesIO``) had to
    be saved first. One with a path is named by it and reads its posters from
    its folder; one without reads them from the current folder, and messages
    name it as the file given (standard input for ``sys.stdin``)."""
    import io

    with pytest.warns(DataWarning, match="1 poster path"):  # mal_csv's missing one
        expected = load_mal(mal_csv)
    for mode in ("rb", "r"):  # binary, and text as open() gives it
        with pytest.warns(DataWarning, match="1 poster path"), open(mal_csv, mode) as f:
            opened = load_mal(f)
        pd.testing.assert_frame_equal(opened, expected)
        assert opened.attrs["source"] == str(mal_csv)
    monkeypatch.chdir(mal_csv.parent)  # where a path-less file's posters lead from
    with pytest.warns(DataWarning, match="1 poster path"):
        given = load_mal(io.BytesIO(mal_csv.read_bytes()))
    pd.testing.assert_frame_equal(given, expected)
    assert given.attrs["source"] == "the file given"
    parquet = io.BytesIO()
    expected.drop(columns="poster").to_parquet(parquet)  # told by its first bytes
    from_parquet = load_mal(io.BytesIO(parquet.getvalue()))
    pd.testing.assert_frame_equal(
        from_parquet[expected.columns.drop("poster")],
        expected.drop(columns="poster"),
        check_dtype=False,
    )
    with pytest.raises(ColumnError, match=r"^the file given lacks .*'Type'"):
        load_mal(io.BytesIO(b"Title\nA\n"))
    stdin = io.BytesIO(b'{"Title": "A"}\n[1]\n')
    stdin.name = "<stdin>"  # as sys.stdin.buffer is named
    with pytest.raises(SkanimeError, match=r"^Cannot read standard input as JSON L"):
        load_mal(stdin)


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes")
def test_a_named_pipe_loads_as_its_file(mal_csv, tmp_path, monkeypatch):
    """A pipe (the shell's ``<(zcat anime.csv.gz)``, a named pipe) was "No
    such MyAnimeList CSV": it is no regular file, and it can be read only
    once."""
    import os
    import threading

    with pytest.warns(DataWarning, match="1 poster path"):  # mal_csv's missing one
        expected = load_mal(mal_csv)
    pipe = tmp_path / "anime_pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(
        target=lambda: pipe.write_bytes(mal_csv.read_bytes()), daemon=True
    )
    writer.start()
    monkeypatch.chdir(mal_csv.parent)  # where a pipe's relative posters lead from
    with pytest.warns(DataWarning, match="1 poster path"):
        piped = load_mal(pipe)
    writer.join(10)
    pd.testing.assert_frame_equal(piped, expected)
    assert piped.attrs["source"] == str(pipe)


def test_columns_a_user_adds_to_anilist_records_are_kept(tmp_path):
    """A ``poster`` path or ``Rating`` added to AniList's records (which have
    neither) was dropped with AniList's own fields: the model trained without
    the posters the records named. AniList's unread fields stay out."""
    (tmp_path / "5114.jpg").write_bytes(b"not read here")
    media = {**ANILIST_MEDIA, "popularity": 900, "poster": "5114.jpg"}
    media["rating"] = "R - 17+ (violence & profanity)"
    path = tmp_path / "anilist.json"
    path.write_text(json.dumps({"data": {"Page": {"media": [media]}}}))
    frame = load_mal(path)
    assert frame["poster"].tolist() == [str(tmp_path / "5114.jpg")]
    assert frame["Rating"].tolist() == ["R - 17+ (violence & profanity)"]
    assert "popularity" not in frame.columns and "Popularity" not in frame.columns
    assert frame["Title"].tolist() == ["Hagane no Renkinjutsushi"]


def test_an_api_error_answer_is_refused_with_its_message(tmp_path):
    path = tmp_path / "answer.json"
    errors = [{"message": "Too Many Requests.", "status": 429}]
    path.write_text(json.dumps({"data": None, "errors": errors}))
    with pytest.raises(SkanimeError, match=r"holds no anime but an error: Too Many"):
        load_mal(path)


def test_a_kaggle_name_beside_the_name_it_maps_to_is_left_alone(tmp_path):
    """A table with "Title" and "Name" (say, the studio's name) keeps its
    Title: "Name" was renamed to a second "Title"."""
    path = tmp_path / "both.csv"
    path.write_text(
        "Title,Name,Type,Episodes,Source,Genres,Studios\n"
        "Monster,Nippon TV,TV,74,Manga,Drama,Madhouse\n"
    )
    assert load_mal(path)["Title"].tolist() == ["Monster"]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("24 min. per ep.", 24),
        ("1 hr. 55 min.", 115),
        ("2 hr.", 120),
        ("Unknown", None),
    ],
)
def test_parse_duration(text, minutes):
    result = parse_duration(text)
    assert np.isnan(result) if minutes is None else result == minutes


def test_parse_aired_two_digit_years_are_not_in_the_future():
    assert parse_aired("1-Jan-63") == (1963.0, "Winter")
    assert parse_aired("") == (pytest.approx(np.nan, nan_ok=True), None)


def test_parse_aired_reads_two_digit_years_within_their_span():
    assert parse_aired("6-Oct-26", span=(1917, 2024)) == (1926.0, "Fall")
    assert parse_aired("Oct-26", span=(1917, 2028)) == (2026.0, "Fall")
    assert parse_aired("9-Nov-18", span=(1917, 2024)) == (2018.0, "Fall")
    # neither 1918 nor 2018 in the span: the clock's reading
    assert parse_aired("9-Nov-18", span=(2001, 2012)) == (2018.0, "Fall")
    # a year written in four digits is never moved, however far ahead
    assert parse_aired("Apr 2099") == (2099.0, "Spring")
    assert parse_aired("Apr 5, 2099", span=(1917, 2024)) == (2099.0, "Spring")
    assert two_digit_year_span(pd.Series(["Oct 1963 to 1964", "Jan 2022 to ?"])) == (
        1963,
        2024,
    )
    assert two_digit_year_span(pd.Series(["6-Oct-26", None])) is None


SPAN_ROWS = [
    '1,A,TV,x,"Jan 2022 to ?",12,24 min.,7,Manga,,,,,,Currently Airing,,1,',
    "2,B,Movie,x,6-Oct-26,1,10 min.,5,Original,,,,,,Finished Airing,,1,",
    "3,C,Movie,x,Mar-22,1,90 min.,7,Original,,,,,,Finished Airing,,1,",
    '4,D,TV,x,"Oct 1925 to Dec 1926",52,25 min.,6,Manga,,,,,,Finished Airing,,1,',
    "5,E,Movie,x,1-Jan-62,1,20 min.,6,Original,,,,,,Finished Airing,,1,",
]


def test_load_mal_reads_two_digit_years_by_the_file_not_the_clock(
    tmp_path, clock_in_2026
):
    path = tmp_path / "anime.csv"
    path.write_text(HEADER + "\n".join(SPAN_ROWS) + "\n", encoding="utf-8")
    # the file's dates run from 1925 to 2022: "26" is 1926, even in 2026, when
    # the clock alone reads it as this year
    assert parse_aired("6-Oct-26") == (2026.0, "Fall")
    assert load_mal(path)["Year"].tolist() == [2022.0, 1926.0, 2022.0, 1925.0, 1962.0]
    # a file with no four-digit year falls back to the clock
    rows = [SPAN_ROWS[1], SPAN_ROWS[4]]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    assert load_mal(path)["Year"].tolist() == [2026.0, 1962.0]


def _with_aired(dates: list[str]) -> str:
    """``HEADER`` and one row a date, only ``Aired`` differing."""
    row = ',A,TV,x,"{}",12,24 min.,7,Manga,Action,,,,,Finished Airing,Bones,1,'
    return HEADER + "".join(row.format(date) + "\n" for date in dates)


def test_load_mal_reads_dates_of_other_formats_and_warns_on_the_rest(tmp_path):
    """ISO and day-first dates used to leave Year and Season missing without a
    word, while a model fitted on the same CSV through pandas read them."""
    path = tmp_path / "anime.csv"
    dates = ["2019-10-01", "05/04/2020", "20.01.2011", "01/10/1999", "5 Apr 2009"]
    dates += ["Not available", "", "soon"]
    path.write_text(_with_aired(dates), encoding="utf-8")
    with pytest.warns(DataWarning) as caught:
        frame = load_mal(path)
    assert [str(w.message) for w in caught] == [
        "Column 'Aired': 1 value(s) are not dates (e.g. 'soon') and are treated "
        "as missing (Year and Season unknown)."
    ]
    assert frame["Year"].tolist()[:5] == [2019.0, 2020.0, 2011.0, 1999.0, 2009.0]
    # "20.01.2011" puts the day first, so the whole column does: "05/04/2020"
    # is the 5th of April, "01/10/1999" the 1st of October
    seasons = frame["Season"].tolist()
    assert seasons[:5] == ["Fall", "Spring", "Winter", "Fall", "Spring"]
    assert frame["Year"].iloc[5:].isna().all() and frame["Season"].iloc[5:].isna().all()
    # a column whose second numbers pass 12 puts the month first
    path.write_text(_with_aired(["01/20/2011", "10/01/1999"]), encoding="utf-8")
    assert load_mal(path)["Season"].tolist() == ["Winter", "Fall"]


def test_make_anime_is_seeded_labelled_and_the_poster_carries_signal(tmp_path):
    a = make_anime(200, random_state=3, poster_dir=tmp_path / "a")
    b = make_anime(200, random_state=3, poster_dir=tmp_path / "b")
    pd.testing.assert_frame_equal(a.drop(columns="poster"), b.drop(columns="poster"))
    assert a.attrs["synthetic"] and a["Title"].str.startswith("Synthetic").all()
    assert a["Score"].between(1, 10).all()
    with_poster = a[a["poster"].notna()]
    assert 0.8 < len(with_poster) / len(a) < 1.0
    # the poster's warmth (red minus blue) is tied to the score
    warmth = [
        np.asarray(Image.open(p), dtype=float)[..., [0, 2]].mean(axis=(0, 1))
        for p in with_poster["poster"]
    ]
    warmth = np.array([r - b for r, b in warmth])
    assert np.corrcoef(warmth, with_poster["Score"])[0, 1] > 0.2


def test_make_anime_temporary_posters_are_removed_at_exit():
    code = (
        "from pathlib import Path\n"
        "from skanime.datasets import make_anime\n"
        "a = make_anime(3, random_state=0, image_size=8)\n"
        "b = make_anime(3, random_state=0, image_size=8)\n"
        "folders = {Path(p).parent for p in [*a.poster, *b.poster] if p}\n"
        "assert len(folders) == 2 and all(f.is_dir() for f in folders)\n"
        "print(Path(next(iter(folders))).parent)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    root = Path(done.stdout.strip().splitlines()[-1])
    assert root.name.startswith("skanime_posters_")
    assert not root.exists()  # both calls' folders went with the process


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_samples": 0}, "n_samples=0, expected a positive integer"),
        ({"n_samples": 2.5}, "n_samples=2.5, expected a positive integer"),
        ({"image_size": 0}, "image_size=0, expected a positive integer"),
        ({"poster_fraction": 1.5}, "poster_fraction=1.5, expected 0 to 1"),
        ({"noise": float("nan")}, "noise=nan, expected a number >= 0"),
    ],
)
def test_make_anime_names_a_bad_argument(params, message, tmp_path):
    """2.5 rows and image_size=0 failed inside numpy ("high <= 0")."""
    with pytest.raises(ValueError, match=message):
        make_anime(**{"n_samples": 5, "poster_dir": tmp_path, **params})
    file = tmp_path / "posters.txt"
    file.write_text("")
    with pytest.raises(ValueError, match="posters.txt' is a file; name a folder"):
        make_anime(5, poster_dir=file)
