from kbassist.chat.rendering import render_markdown


def test_markdown_lists_tables_and_code():
    html = render_markdown("**Days**\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`code`")
    assert "<strong>Days</strong>" in html and "<li>one</li>" in html and "<table>" in html and "<code>code</code>" in html


def test_html_in_answers_is_shown_as_text_never_run():
    html = render_markdown('<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))')
    assert "<img" not in html and "<script" not in html and 'href="javascript' not in html
    assert "&lt;img" in html and "&lt;script&gt;" in html


def test_citation_markers_become_links_only_in_range():
    html = render_markdown("Fact [1]. Other [7].", citations=2)
    assert 'data-cite="1"' in html and "[7]" in html and 'data-cite="7"' not in html
