"""TitleEncoder, TitleWords and the sequel flag."""

import numpy as np
import pandas as pd
import pytest

from skanime import TitleEncoder, TitleWords, is_sequel

TITLES = pd.DataFrame(
    {
        "Title": [
            "Gintama",
            "Gintama Season 2",
            "Monster",
            "Monster Movie",
            "Mushishi",
            "Mushishi Zoku Shou",
            "Haikyuu!!",
            "Haikyuu!! 2nd Season",
            None,
            "Aria",
        ]
    }
)


@pytest.mark.parametrize(
    "title, sequel",
    [
        ("Haikyuu!! 2nd Season", True),
        ("Shingeki no Kyojin: The Final Season", True),
        ("Mobile Suit Gundam III", True),
        ("Noragami OVA", True),
        ("Monster", False),
        ("Steins;Gate", False),
        (None, False),
    ],
)
def test_is_sequel(title, sequel):
    assert is_sequel(title) is sequel


def test_dense_block_and_flag():
    enc = TitleEncoder(min_df=2, n_components=3, random_state=0).fit(TITLES)
    out = enc.transform(TITLES)
    assert out.shape == (10, 4) and np.isfinite(out).all()
    assert out[:, -1].tolist() == [float(is_sequel(t)) for t in TITLES["Title"]]
    # titles sharing words land close together; the missing title is all zeros
    assert np.allclose(out[8, :3], 0)
    near = np.linalg.norm(out[0, :3] - out[1, :3])
    far = np.linalg.norm(out[0, :3] - out[9, :3])
    assert near < far


def test_char_ngrams_and_no_flag():
    enc = TitleEncoder(
        analyzer="char_wb",
        ngram_range=(2, 3),
        min_df=1,
        n_components=5,
        sequel_flag=False,
    ).fit(TITLES)
    assert enc.transform(TITLES).shape == (10, 5)
    assert enc.get_feature_names_out()[-1] == "title_svd4"


def test_no_vocabulary_gives_only_the_flag():
    enc = TitleEncoder(min_df=50).fit(TITLES)
    assert enc.transform(TITLES).shape == (10, 1)


def test_one_column_only():
    with pytest.raises(ValueError, match="one title column"):
        TitleEncoder().fit(pd.DataFrame({"a": ["x", "y"], "b": ["z", "w"]}))


def test_transform_is_the_svd_projection():
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    titles = [f"{words[i % 5]} {words[i % 3]} saga {words[i % 4]}" for i in range(30)]
    X = pd.DataFrame({"Title": titles})
    enc = TitleEncoder(min_df=1, n_components=4, random_state=0).fit(X)
    assert enc.svd_.n_components == 4
    expected = enc.svd_.transform(enc.vectorizer_.transform(titles))
    assert np.allclose(enc.transform(X)[:, :4], expected)


@pytest.mark.parametrize("dtype", [object, "str", "string"])
def test_transform_of_the_fitted_column_skips_validation_with_the_same_result(dtype):
    """A frame with exactly the fitted column takes a shortcut past validation;
    it must give what the validated path gives, missing titles included."""
    from skanime import FranchisePrior

    titles = [
        "Gintama",
        "Gintama Season 2",
        "Monster",
        None,
        "Monster Movie",
        "Mushishi",
    ]
    X = pd.DataFrame({"Title": pd.Series(titles, dtype=dtype)})
    y = [9.0, 9.1, 8.9, 6.0, 8.5, 8.7]
    for encoder in (
        TitleEncoder(min_df=1, n_components=2, random_state=0),
        FranchisePrior(cv=2, random_state=0),
    ):
        encoder.fit(X, y)
        shortcut = encoder.transform(X)
        validated = encoder.transform(X.to_numpy(dtype=object, na_value=np.nan))
        np.testing.assert_array_equal(shortcut, validated)


def test_title_words_are_the_training_titles_frequent_words_as_0_1_columns():
    words = TitleWords(min_df=2).fit(TITLES)
    names = words.get_feature_names_out().tolist()
    # words of two titles or more; "zoku", "shou", "aria" (one title) are left out
    assert names == [
        "word_gintama",
        "word_haikyuu",
        "word_monster",
        "word_mushishi",
        "word_season",
    ]
    out = words.transform(TITLES)
    assert out.dtype == np.float32 and out.shape == (10, 5)
    assert out[1].tolist() == [1, 0, 0, 0, 1]  # "Gintama Season 2"
    assert out[8].tolist() == [0] * 5  # a missing title
    # new titles: known words only, each once however often it occurs
    new = pd.DataFrame({"Title": ["Monster Monster Gaiden", "Unheard Of"]})
    assert words.transform(new).tolist() == [[0, 0, 1, 0, 0], [0] * 5]


def test_title_words_without_any_frequent_word_give_no_column():
    words = TitleWords(min_df=50).fit(TITLES)
    assert words.transform(TITLES).shape == (10, 0)
    assert words.get_feature_names_out().tolist() == []


def test_title_words_take_one_title_column():
    with pytest.raises(ValueError, match="one title column"):
        TitleWords().fit(pd.DataFrame({"a": ["x", "y"], "b": ["z", "w"]}))
