"""What a post refers to: links and video ids in its text, and the post it reposts."""

from __future__ import annotations

from earful.risk.references import item_keys, repost_body


def test_video_links_in_any_form_name_one_item() -> None:
    forms = [
        "https://www.youtube.com/watch?v=5YGc4zOqozo",
        "https://youtu.be/5YGc4zOqozo",
        "https://m.youtube.com/watch?feature=share&v=5YGc4zOqozo&t=30",
        "https://www.youtube.com/shorts/5YGc4zOqozo",
    ]
    assert {item_keys(None, f"watch this {url}!") for url in forms} == {
        frozenset({"yt:5YGc4zOqozo"})
    }


def test_a_post_is_about_its_own_url_and_the_links_in_its_text() -> None:
    keys = item_keys(
        "https://blog.example/posts/7?utm_source=x",
        "Read https://news.example/story/42, then (https://youtu.be/5YGc4zOqozo).",
    )
    assert "yt:5YGc4zOqozo" in keys
    assert any("news.example/story/42" in k for k in keys)
    assert any("blog.example/posts/7" in k and "utm_source" not in k for k in keys)


def test_a_front_page_link_is_not_an_item() -> None:
    # Complaints that all link the brand's home page are not one story.
    assert item_keys(None, "so bad, see https://united.com and https://www.united.com/") == set()


def test_repost_markers_are_dropped_and_plain_text_kept() -> None:
    assert repost_body("RT @granddaughter: They left her alone") == "They left her alone"
    assert repost_body("QT @a MT @b: nested") == "nested"
    assert repost_body("Art is RT-worthy") == "Art is RT-worthy"
