"""Column roles: inference, reasons, explicit choices, and the raw-table cleaner."""

import pickle

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.pipeline import Pipeline

from skanime._roles import ColumnRoles, TableCleaner, infer_column_roles
from skanime.datasets import PRERELEASE_COLUMNS, load_mal
from skanime.exceptions import ColumnError, DataError, DataWarning

from .conftest import fast_model

GENRES = ["Action, Drama", "Comedy", "Action, Comedy, Romance", "Drama", "Sci-Fi"]
STUDIOS = ["Bones", "Madhouse", "Bones, Sunrise", "Shaft", "Madhouse"]


def raw_mal(n=20, poster_dir=None) -> pd.DataFrame:
    """A frame shaped like ``pd.read_csv`` of the raw MyAnimeList ``anime.csv``."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "anime_id": 5000 + 7 * i,
                "Title": f"Brotherhood of the {i}th Alchemist",
                "Type": ["TV", "Movie", "OVA"][i % 3],
                "Japanese": f"鋼の錬金術師 {i}",
                "Aired": [
                    "Apr 5, 2009 to Jul 4, 2010",
                    "Sep 1, 2001",
                    "9-Nov-18",
                    "2005 to ?",
                    "Not available",
                ][i % 5],
                "Episodes": ["64", "Unknown", "12", "1,024"][i % 4],
                "Duration": ["24 min. per ep.", "1 hr. 55 min.", "Unknown"][i % 3],
                "Score": 6 + (i % 30) / 10,
                "Source": ["Manga", "Original", "Light novel"][i % 3],
                "Genres": GENRES[i % 5],
                "Themes": ["Military", "add some", "School, Music"][i % 3],
                "Licensors": ["Funimation", "None found"][i % 2],
                "Producers": ["Aniplex,Square Enix", "Dentsu"][i % 2],
                "Rating": [
                    "R - 17+ (violence & profanity)",
                    "PG-13 - Teens 13 or older",
                ][i % 2],
                "Status": "Finished Airing",
                "Studios": STUDIOS[i % 5],
                "Members": f"{2_893_578 - 1_000 * i:,}",
                "poster": f"posters/{i}.jpg" if i % 4 else "",
            }
        )
    frame = pd.DataFrame(rows)
    if poster_dir is not None:
        (poster_dir / "posters").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if i % 4:
                Image.new("RGB", (16, 16), (10 * i, 50, 90)).save(
                    poster_dir / "posters" / f"{i}.jpg"
                )
    return frame


def kaggle_2023(n=20) -> pd.DataFrame:
    frame = raw_mal(n).rename(columns={"Title": "Name"})
    frame = frame.drop(columns=["Japanese", "Themes", "poster"])
    frame["English name"] = [f"The Alchemist part {i}" for i in range(n)]
    frame["Other name"] = frame["Name"].str.upper()
    frame["Synopsis"] = "Two brothers search for a stone " + frame.index.astype(str)
    frame["Premiered"] = ["spring 2009", "UNKNOWN", "fall 1998"] * (n // 3) + [
        "summer 2020"
    ] * (n % 3)
    frame["Rank"] = np.arange(n) + 1.0
    frame["Popularity"] = np.arange(n)[::-1]
    frame["Favorites"] = np.arange(n) * 3
    frame["Scored By"] = np.arange(n) * 11.0
    frame["Image URL"] = [
        f"https://cdn.myanimelist.net/images/anime/{i}.jpg" for i in range(n)
    ]
    return frame


def paper_columns(n=20) -> pd.DataFrame:
    cols = ["Title", "Type", "Source", "Episodes", "Genres", "Studios", "poster"]
    return raw_mal(n)[cols].assign(
        Episodes=lambda f: f["Episodes"].str.replace(",", "")
    )


def test_paper_columns():
    roles = infer_column_roles(paper_columns())
    assert roles["text"] == ["Title"]
    assert roles["categorical"] == ["Type", "Source"]
    assert roles["numeric"] == ["Episodes"]
    assert roles["list"] == ["Genres", "Studios"]
    assert roles["poster"] == ["poster"]
    assert roles["ignored"] == []


def test_raw_mal_csv_shape():
    roles = infer_column_roles(raw_mal())
    assert roles.ignored == {
        "anime_id": "an identifier",
        "Score": "the target (the score itself)",
        "Licensors": roles.reasons["Licensors"],
        "Status": "the airing status changes after release",
        "Members": "known only after release (it leaks the score)",
    }
    assert roles["date"] == ["Aired"] and roles["duration"] == ["Duration"]
    columns = roles.encoder_columns()
    assert set(columns["numeric_columns"]) == set(PRERELEASE_COLUMNS["numeric_columns"])
    for kind in ("categorical_columns", "list_columns"):
        assert set(columns[kind]) == set(PRERELEASE_COLUMNS[kind])
    assert columns["poster_column"] == "poster"
    assert columns["text_columns"] == ("Title", "Japanese")


def test_table_cleaner_parses_raw_values():
    cleaner = TableCleaner().fit(raw_mal())
    out = cleaner.transform(raw_mal())
    assert list(out.columns) == list(cleaner.get_feature_names_out())
    assert "Members" not in out and "Aired" not in out
    assert out["Episodes"].tolist()[:4] == [64.0, None, 12.0, 1024.0] or (
        out["Episodes"].iloc[0] == 64.0
        and np.isnan(out["Episodes"].iloc[1])
        and out["Episodes"].iloc[3] == 1024.0
    )
    assert out["Duration"].iloc[0] == 24.0 and out["Duration"].iloc[1] == 115.0
    assert np.isnan(out["Duration"].iloc[2])
    assert out["Year"].iloc[:4].tolist() == [2009.0, 2001.0, 2018.0, 2005.0]
    assert out["Season"].iloc[0] == "Spring" and out["Season"].iloc[2] == "Fall"
    assert np.isnan(out["Year"].iloc[4])
    assert pd.isna(out["Themes"].iloc[1])  # "add some"
    assert out["poster"].iloc[1] == "posters/1.jpg" and pd.isna(out["poster"].iloc[0])


def test_table_cleaner_reads_two_digit_years_by_the_training_column(clock_in_2026):
    train = raw_mal()
    train.loc[0, "Aired"] = "Oct 1925 to Dec 1926"  # the column spans 1925-2010
    cleaner = TableCleaner().fit(train)
    assert cleaner.date_spans_ == {"Aired": (1925, 2012)}
    one = train.head(1).assign(Aired="6-Oct-26")
    # learned in fit: a row read alone is 1926, as in the training column
    assert cleaner.transform(one)["Year"].tolist() == [1926.0]
    assert cleaner.transform(train)["Year"].iloc[2] == 2018.0  # "9-Nov-18"
    # a cleaner fitted before the spans existed keeps the clock's reading
    del cleaner.date_spans_
    assert cleaner.transform(one)["Year"].tolist() == [2026.0]


def test_values_in_another_case_read_as_the_training_column_writes_them():
    """Full-width "Ｄｒａｍａ", "MOVIE" and "slice-of-life" were categories and
    labels never seen, so the model read them as unknown; a value the
    training column writes in two ways ("TV" and "tv") is still read as
    written."""
    train = pd.DataFrame(
        {
            "Type": ["TV", "tv", "Movie"],
            "Genres": ["Action, Drama", "Slice of Life", "Drama"],
        }
    )
    cleaner = TableCleaner({"categorical": ["Type"], "list": ["Genres"]}).fit(train)
    new = pd.DataFrame(
        {
            "Type": ["MOVIE", "Tv", "Ova"],
            "Genres": ["ACTION;  slice-of-life", "Ｄｒａｍａ", "Cyber-Opera, drama"],
        }
    )
    out = cleaner.transform(new)
    assert out["Type"].tolist() == ["Movie", "Tv", "Ova"]
    assert out["Genres"].tolist() == [
        "Action, Slice of Life",
        "Drama",
        "Cyber-Opera, Drama",
    ]
    # a cleaner fitted before the spellings existed reads values as written
    del cleaner.spellings_
    assert cleaner.transform(new)["Type"].tolist() == ["MOVIE", "Tv", "Ova"]


def test_load_mal_output(tmp_path):
    raw_mal(poster_dir=tmp_path).to_csv(tmp_path / "anime.csv", index=False)
    frame = load_mal(tmp_path / "anime.csv")
    roles = infer_column_roles(frame)
    columns = roles.encoder_columns()
    for kind, expected in PRERELEASE_COLUMNS.items():
        assert set(columns[kind]) == set(expected), kind
    assert set(roles.ignored) == {"anime_id", "Score", "Status", "Members", "Licensors"}
    assert roles["numeric"] == ["Episodes", "Duration", "Year"]  # numbers already
    assert "already numbers" in roles.reasons["Duration"]


def test_kaggle_2023_names():
    roles = infer_column_roles(kaggle_2023())
    assert roles["text"] == ["Name", "English name", "Other name", "Synopsis"]
    assert roles["poster"] == ["Image URL"]
    assert roles["date"] == ["Aired", "Premiered"]
    for leak in ("Rank", "Popularity", "Favorites", "Scored By", "Members"):
        assert "after release" in roles.ignored[leak]
    out = TableCleaner().fit_transform(kaggle_2023())
    assert {"Year", "Season", "Premiered_year", "Premiered_season"} <= set(out)
    assert out["Premiered_year"].iloc[0] == 2009.0
    assert out["Premiered_season"].iloc[2] == "Fall"
    assert np.isnan(out["Premiered_year"].iloc[1])  # UNKNOWN


def test_jikans_status_and_background_are_not_inputs():
    """`skanime train --columns auto` on a Jikan answer (load_mal keeps its
    fields) read `airing`, which changes once an anime ends, as a category,
    and `background`, written after release ("won the award for ..."), as
    text; both are ignored, as `Status` is."""
    n = 20
    frame = paper_columns(n).assign(
        airing=["True", "False"] * (n // 2),
        background=[f"It won award {i}." for i in range(n)],
        demographics=["Shounen", "Seinen"] * (n // 2),
    )
    roles = infer_column_roles(frame)
    assert "after release" in roles.ignored["airing"]
    assert "after release" in roles.ignored["background"]
    assert roles["categorical"] == ["Type", "Source", "demographics"]


def test_jikans_titles_are_read_as_the_other_title_columns_are():
    """Jikan's `titles` (objects of a type and a title) was ignored as "no
    values", and its `title_japanese`, without spaces between words, as
    identifier-like, where MyAnimeList's `Japanese` is text: `titles` is
    ignored for what it is, and the Japanese and English titles are text."""
    n = 20
    frame = paper_columns(n).assign(
        titles=[[{"type": "Default", "title": f"Anime {i}"}] for i in range(n)],
        title_english=[f"The anime number {i}" for i in range(n)],
        title_japanese=[f"アニメ{i}" for i in range(n)],
    )
    roles = infer_column_roles(frame)
    assert "title_english and title_japanese give" in roles.ignored["titles"]
    assert roles["text"][-2:] == ["title_english", "title_japanese"]


def test_the_2020_kaggle_score_counts_are_leaks():
    """Kaggle's anime-recommendation-database-2020 counts the users who gave
    each score: numbers that would be read as inputs, and hold the score."""
    frame = kaggle_2023().rename(columns={"anime_id": "MAL_ID"})
    rng = np.random.default_rng(0)
    for n in range(10, 0, -1):
        frame[f"Score-{n}"] = rng.integers(0, 10_000, len(frame))
    roles = infer_column_roles(frame)
    assert roles["numeric"] == ["Episodes"]
    assert "MAL_ID" in roles.ignored
    for n in range(1, 11):
        assert "after release" in roles.ignored[f"Score-{n}"]


def test_the_2020_kaggle_japanese_name_is_a_title():
    """Its `Japanese name`, distinct in nearly every row, was ignored as
    identifier-like, though MyAnimeList's `Japanese` is read as text."""
    frame = kaggle_2023().rename(columns={"Other name": "Japanese name"})
    roles = infer_column_roles(frame)
    assert roles["text"] == ["Name", "English name", "Japanese name", "Synopsis"]
    assert "Japanese title" in roles.reasons["Japanese name"]


def test_a_used_column_without_a_value_says_so():
    frame = raw_mal(20).assign(Rating=np.nan, Themes=" Unknown ", extra=np.nan)
    roles = infer_column_roles(frame, explicit={"numeric": ["Episodes", "extra"]})
    for column in ("Rating", "Themes", "extra"):  # known, known, named
        assert roles.reasons[column].endswith("every cell is empty, so it adds nothing")
    assert "empty" not in roles.reasons["Episodes"] + roles.reasons["Genres"]
    assert roles.roles["numeric"] == ["Episodes", "extra"]  # still used as named


def test_unknown_names_are_judged_by_content():
    raw = raw_mal(30)
    renamed = raw.rename(columns={c: f"col {c}" for c in raw.columns})
    renamed["col constant"] = "same"
    renamed["col uid"] = [f"a{i:04d}" for i in range(30)]
    roles = infer_column_roles(renamed)
    assert roles.role_of("col Episodes") == "numeric"
    assert "stored as text" in roles.reasons["col Episodes"]
    # its name is not known: distinct integers in every row look like an identifier
    assert "identifier-like" in roles.reasons["col Members"]
    assert roles.role_of("col Duration") == "duration"
    assert roles.role_of("col Aired") == "date"
    assert roles.role_of("col Genres") == "list"
    assert roles.role_of("col poster") == "poster"
    assert roles.role_of("col Title") == "text"
    assert roles.role_of("col Type") == "categorical"
    assert roles.role_of("col anime_id") == "ignored"  # distinct integers
    assert roles.reasons["col constant"] == "constant"
    assert "identifier-like" in roles.reasons["col uid"]


def test_an_identifier_with_blanks_is_not_said_to_fill_every_row():
    """The reason said "a distinct integer in every row" of a column with
    blanks (a count of the table's own, read by load_mal as Int64)."""
    frame = paper_columns(30)
    frame["complete"] = range(30)
    frame["gappy"] = pd.array([None if i % 7 == 0 else i * 10 for i in range(30)])
    reasons = infer_column_roles(frame).ignored
    assert reasons["complete"] == "identifier-like: a distinct integer in every row"
    assert reasons["gappy"] == (
        "identifier-like: a distinct integer in every row that has a value"
    )


def test_pandas_nullable_and_arrow_dtypes():
    pytest.importorskip("pyarrow")
    raw = raw_mal()
    expected = infer_column_roles(raw)
    nullable = raw.convert_dtypes()
    arrow = raw.convert_dtypes(dtype_backend="pyarrow")
    for frame in (nullable, arrow):
        assert infer_column_roles(frame) == expected
        pd.testing.assert_frame_equal(
            TableCleaner().fit_transform(frame), TableCleaner().fit_transform(raw)
        )


def test_polars_frame():
    pl = pytest.importorskip("polars")
    raw = raw_mal().astype({"poster": object})
    frame = pl.DataFrame(raw.to_dict(orient="list"))
    assert infer_column_roles(frame) == infer_column_roles(raw)
    cleaned = TableCleaner().fit(frame).transform(frame)
    pd.testing.assert_frame_equal(cleaned, TableCleaner().fit_transform(raw))


def test_roles_read_the_frames_predict_reads_and_refuse_a_lazy_one():
    """Column roles read what ``fit`` and ``predict`` read: a pyarrow table
    used to be refused ("Expected a pandas or polars DataFrame"), or read by
    ``TableCleaner`` as an array with positional names, and a polars
    LazyFrame failed with an AttributeError from polars."""
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    raw = raw_mal().astype({"poster": object})
    arrow = pa.Table.from_pandas(raw, preserve_index=False)
    assert infer_column_roles(arrow) == infer_column_roles(raw)
    cleaner = TableCleaner().fit(arrow)  # not an array with positional names
    pd.testing.assert_frame_equal(
        cleaner.transform(arrow), TableCleaner().fit_transform(raw)
    )
    assert cleaner.feature_names_in_.tolist() == raw.columns.tolist()
    lazy = pl.DataFrame(raw.to_dict(orient="list")).lazy()
    with pytest.raises(DataError, match=r"compute it first \(a polars LazyFrame: X"):
        infer_column_roles(lazy)
    with pytest.raises(DataError, match="lazy LazyFrame"):
        TableCleaner().fit(lazy)


def test_explicit_columns_win():
    raw = raw_mal()
    roles = infer_column_roles(raw, explicit={"numeric": ["Episodes", "Members"]})
    assert roles["numeric"] == ["Episodes", "Members"]
    assert roles.reasons["Members"] == "named explicitly"
    # an explicit role is complete: no other column is judged into it
    only = infer_column_roles(raw, explicit={"list": "Genres", "poster": None})
    assert only["list"] == ["Genres"] and only["poster"] == []
    assert "but only the given list columns are used" in only.reasons["Studios"]
    assert only.role_of("poster") == "ignored"


def test_explicit_absent_or_twice_named_column_is_an_error():
    with pytest.raises(ColumnError, match="numeric column 'Rating ' is not in X"):
        infer_column_roles(raw_mal(), explicit={"numeric": ["Rating "]})
    with pytest.raises(ColumnError, match="'Type' is named both"):
        infer_column_roles(
            raw_mal(), explicit={"numeric": ["Type"], "categorical": ["Type"]}
        )
    with pytest.raises(ValueError, match="roles are"):
        infer_column_roles(raw_mal(), explicit={"image": ["poster"]})


def test_target_is_ignored():
    frame = paper_columns().assign(rating_of_fans=np.linspace(1, 9, 20))
    roles = infer_column_roles(frame, target="rating_of_fans")
    assert roles.ignored == {"rating_of_fans": "the target (the score itself)"}


def test_column_roles_are_plain_printable_and_picklable():
    roles = infer_column_roles(raw_mal())
    again = pickle.loads(pickle.dumps(roles))
    assert again == roles
    plain = roles.to_dict()
    assert all(isinstance(c, str) for cols in plain["roles"].values() for c in cols)
    assert ColumnRoles(**plain) == roles
    table = str(roles).splitlines()
    assert table[0].split() == ["column", "role", "why"]
    assert any(line.split()[:2] == ["Members", "ignored"] for line in table)
    assert len(table) == 1 + raw_mal().shape[1]


def test_cleaner_requires_the_fitted_columns():
    cleaner = TableCleaner().fit(raw_mal())
    with pytest.raises(ColumnError, match=r"lacks the column\(s\) \['Genres'\]"):
        cleaner.transform(raw_mal().drop(columns="Genres"))
    # an ignored column may be absent
    assert len(cleaner.transform(raw_mal().drop(columns="Members"))) == 20


def test_raw_csv_trains_as_the_first_pipeline_step(tmp_path):
    raw = raw_mal(24, poster_dir=tmp_path)
    raw.to_csv(tmp_path / "anime.csv", index=False)
    frame = pd.read_csv(tmp_path / "anime.csv")
    y = frame.pop("Score")
    columns = infer_column_roles(frame).encoder_columns()
    columns.pop("text_columns")
    model = Pipeline(
        [
            ("clean", TableCleaner()),
            ("model", fast_model(**columns, poster_root=tmp_path)),
        ]
    )
    model.fit(frame, y)
    pred = model.predict(frame)
    assert pred.shape == (24,) and np.isfinite(pred).all()
    assert model[0].column_roles_["poster"] == ["poster"]


def test_other_date_formats_are_found_with_skrub():
    pytest.importorskip("skrub")
    frame = paper_columns().assign(
        first_broadcast=pd.date_range("2001-01-15", periods=20, freq="45D").strftime(
            "%Y-%m-%d"
        )
    )
    roles = infer_column_roles(frame)
    assert roles.role_of("first_broadcast") == "date"
    out = TableCleaner().fit_transform(frame)
    assert out["Year"].iloc[0] == 2001.0 and out["Season"].iloc[0] == "Winter"
    assert out["Season"].iloc[3] == "Spring"  # 2001-05-30


def test_a_date_beside_a_year_column_gets_its_own_names(anime):
    """A table with a numeric ``Year`` and a date column used to fail in fit
    (two output columns named ``Year``): the date becomes ``<date>_year`` and
    ``<date>_season`` there, and ``Year``/``Season`` only where they are free."""
    starts = pd.date_range("2000-01-01", periods=len(anime), freq="90D")
    frame = anime.assign(Start=starts)
    model = fast_model().fit(frame, frame["Score"])
    names = list(model.pipeline_["clean"].get_feature_names_out())
    assert names.count("Year") == 1 and names[-2:] == ["Start_year", "Start_season"]
    assert model.booster_time_feature_ == "numeric__Year"
    assert np.isfinite(model.predict(frame.head(3))).all()
    alone = TableCleaner().fit_transform(frame.drop(columns=["Year", "Season"]))
    assert alone["Year"].iloc[0] == 2000.0 and "Start_year" not in alone


def test_fitted_cleaner_is_saved_securely():
    sio = pytest.importorskip("skops.io")
    import skanime.io

    cleaner = TableCleaner().fit(raw_mal())
    body = sio.dumps(cleaner)
    untrusted = sio.get_untrusted_types(data=body)
    assert set(untrusted) <= set(skanime.io.TRUSTED_TYPES)
    loaded = sio.loads(body, trusted=untrusted)
    assert loaded.column_roles_ == cleaner.column_roles_
    pd.testing.assert_frame_equal(
        loaded.transform(raw_mal()), cleaner.transform(raw_mal())
    )


def test_spreadsheet_month_year_dates():
    # "Mar-11" (March 2011, as a spreadsheet rewrites it) was read as year 1 or lost
    frame = pd.DataFrame({"Aired": ["Mar-11", "Dec-63", "Not available"]})
    out = TableCleaner().fit_transform(frame)
    assert out["Year"].iloc[:2].tolist() == [2011.0, 1963.0]
    assert out["Season"].iloc[:2].tolist() == ["Winter", "Fall"]
    assert np.isnan(out["Year"].iloc[2])


def test_a_column_of_label_lists_is_a_list_column_and_is_cleaned_to_text():
    """Lists (JSON, Parquet, ``str.split``) were judged by their repr: a column
    of them named ``tags`` was "free text"."""
    frame = pd.DataFrame(
        {
            "tags": [["a", "b"], ["b"], ("c", "a"), np.array(["a"]), None] * 6,
            "none": [[]] * 30,
        }
    )
    roles = infer_column_roles(frame)
    assert roles.role_of("tags") == "list"
    assert roles.reasons["tags"] == "lists of labels (3 distinct)"
    assert roles.role_of("none") == "ignored"
    assert roles.reasons["none"] == "no values (empty lists only)"
    cleaned = TableCleaner().fit(frame).transform(frame)
    assert cleaned["tags"].head(5).tolist()[:4] == ["a, b", "b", "c, a", "a"]
    assert pd.isna(cleaned["tags"].iloc[4])


def test_a_date_column_reads_its_day_order_in_fit_and_warns_on_text():
    """The order is learned from the training column, so one row alone reads
    as it does among the others; pandas alone reads "01/10/1999" as January
    whatever the column's other dates say."""
    train = pd.DataFrame({"Aired": ["20/01/2011", "01/10/1999", "2019-10-01"] * 4})
    cleaner = TableCleaner().fit(train)
    assert cleaner.date_day_first_ == {"Aired": True}
    alone = cleaner.transform(pd.DataFrame({"Aired": ["01/10/1999"]}))
    assert alone[["Year", "Season"]].values.tolist() == [[1999.0, "Fall"]]
    with pytest.warns(DataWarning, match=r"'Aired': 1 value\(s\) are not dates"):
        out = cleaner.transform(pd.DataFrame({"Aired": ["soon", "Not available"]}))
    assert out["Year"].isna().all()
    # a cleaner fitted before the attribute existed reads the month first
    del cleaner.date_day_first_
    alone = cleaner.transform(pd.DataFrame({"Aired": ["01/10/1999"]}))
    assert alone["Season"].tolist() == ["Winter"]


def test_time_spans_are_durations_in_minutes():
    """A timedelta column (``pd.to_timedelta``, a Parquet duration) used to be
    "not durations", every cell missing; one of another name was free text."""
    spans = pd.to_timedelta([24, 90, 0.5, None], unit="min")
    frame = pd.DataFrame(
        {
            "Duration": spans,
            "Length": spans,
            "objects": pd.Series(list(spans.to_pytimedelta()), dtype=object),
        }
    )
    cleaner = TableCleaner().fit(frame)
    assert cleaner.column_roles_.role_of("Length") == "duration"
    assert cleaner.column_roles_.reasons["Length"] == "time spans: minutes"
    out = cleaner.transform(frame)
    for column in ("Duration", "Length"):
        assert out[column].tolist()[:3] == [24.0, 90.0, 0.5]
        assert np.isnan(out[column].iloc[3])
    explicit = TableCleaner(roles={"duration": ["objects"]}).fit(frame)
    assert explicit.transform(frame)["objects"].tolist()[:3] == [24.0, 90.0, 0.5]


def test_a_numeric_column_of_dates_gives_their_years():
    """``Year`` parsed into dates used to be "not numbers", every cell missing."""
    years = pd.to_datetime(pd.Series(["2001", "2015", None]), format="%Y")
    cleaner = TableCleaner().fit(pd.DataFrame({"Year": years}))
    assert cleaner.column_roles_.role_of("Year") == "numeric"
    out = cleaner.transform(pd.DataFrame({"Year": years}))["Year"]
    assert out.tolist()[:2] == [2001.0, 2015.0] and np.isnan(out.iloc[2])


def test_json_objects_of_the_jikan_and_anilist_apis_read_as_their_text():
    """Genres as ``[{"mal_id": 1, "name": "Action"}, ...]`` gave labels such as
    ``{'mal_id': 1`` and ``'type': 'anime'``; an ``aired`` object was not a
    date (every Year missing)."""

    def objects(labels):
        return [{"mal_id": i, "type": "anime", "name": n} for i, n in enumerate(labels)]

    jikan = pd.DataFrame(
        {
            "genres": [objects(["Action", "Drama"]), objects(["Drama"]), []],
            "aired": [
                {"from": "1998-04-03T00:00:00+00:00", "string": "Apr 3, 1998 to ?"},
                {"year": 2011, "month": 10, "day": 1},  # AniList's startDate
                None,
            ],
            "type": [{"name": "TV"}, {"name": "Movie"}, None],
        }
    )
    out = TableCleaner().fit(jikan).transform(jikan)
    assert out["genres"].tolist()[:2] == ["Action, Drama", "Drama"]
    assert out[["Year", "Season"]].values.tolist()[:2] == [
        [1998.0, "Spring"],
        [2011.0, "Fall"],
    ]
    assert out["type"].tolist()[:2] == ["TV", "Movie"]
    assert out.iloc[2].isna().all()


def test_dates_with_mixed_utc_offsets_read_as_written():
    """pandas refuses a column of mixed offsets ("Mixed timezones detected"),
    which made fit fail; the offset is dropped, so the date is the one
    written (applying it would move 1 January at +09:00 into the year before)."""
    aired = [
        "2020-01-01T00:00:00+09:00",
        "2020-05-01T00:00:00+00:00",
        "1998-04-03T00:00Z",
    ]
    frame = pd.DataFrame({"Aired": aired + ["2019-10-01T12:30-0500"]})
    out = TableCleaner().fit(frame).transform(frame)
    assert out["Year"].tolist() == [2020.0, 2020.0, 1998.0, 2019.0]
    assert out["Season"].tolist() == ["Winter", "Spring", "Spring", "Fall"]
