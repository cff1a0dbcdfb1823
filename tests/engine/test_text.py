from datetime import UTC, datetime

from memorylayer.engine.text import analyze, analyze_query, date_terms


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_inflected_forms_share_one_term():
    assert analyze("She paints sunrises") == analyze("she painted a sunrise")


def test_stopwords_and_question_words_are_not_terms():
    assert analyze_query("When did she go to the group?") == ["go", "group"]
    assert analyze_query("What is it and who was there?") == []


def test_possessives_and_contractions_match_the_plain_word():
    assert analyze("Caroline's") == analyze("Caroline")
    assert analyze("don't") == analyze("dont")


def test_punctuation_and_case_never_split_or_change_a_match():
    assert analyze("LGBTQ-support, group!") == analyze("lgbtq support group")


def test_accents_are_folded():
    assert analyze("Café Zoë") == analyze("cafe zoe")


def test_numbers_and_identifiers_are_kept():
    assert analyze("order 4521 shipped in 2023") == ["order", "4521", "ship", "2023"]
    assert analyze("api_key v2") == ["api", "key", "v2"]


def test_may_is_kept_because_it_is_a_month():
    assert "may" in analyze_query("What happened in May 2023?")


def test_created_at_adds_day_month_and_year_terms():
    assert date_terms(ms(2023, 5, 8, 13, 56)) == ["8", "may", "2023"]
    assert analyze("Hello there", created_at=ms(2024, 1, 31)) == ["hello", "31", "januari", "2024"]


def test_a_month_in_a_query_matches_the_date_terms_of_a_memory():
    memory_terms = set(analyze("We moved house", created_at=ms(2022, 9, 14)))
    assert {"septemb", "2022"} <= set(analyze_query("Where did they live in September 2022?"))
    assert {"septemb", "2022"} <= memory_terms


def test_text_without_spaces_is_indexed_as_character_pairs():
    assert analyze("東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    assert set(analyze_query("東京")) <= set(analyze("東京タワーに行った"))


def test_query_terms_are_unique_and_in_order():
    assert analyze_query("dogs, dog and more dogs near the dog park") == ["dog", "near", "park"]


def test_every_term_is_letters_and_digits_only():
    text = "Ünïcode — “quotes”, e-mail: a.b@c.io; 50% off! (tabs)\tand\nnewlines"
    assert all(term.isalnum() for term in analyze(text))
