from kbassist.retrieval.tokenize import tokenize


def test_english_is_lowercased_stemmed_and_stopworded():
    assert tokenize("The Employees are requesting vacations!") == ["employe", "request", "vacat"]
    assert tokenize("employee's laptop") == ["employe", "laptop"]


def test_numbers_and_mixed_words_survive():
    assert tokenize("Wi-Fi NW-Staff 28 days, ext. 4400") == ["wi", "fi", "nw", "staff", "28", "day", "ext", "4400"]


def test_chinese_becomes_character_bigrams():
    assert tokenize("年假天数") == ["年假", "假天", "天数"]
    assert tokenize("我") == ["我"]


def test_mixed_chinese_and_english():
    assert tokenize("VPN连接失败") == ["vpn", "连接", "接失", "失败"]


def test_query_and_document_agree():
    assert set(tokenize("vacation days")) <= set(tokenize("Full-time staff get 28 vacation days per year."))
