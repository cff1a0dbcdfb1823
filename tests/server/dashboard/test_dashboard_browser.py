"""The dashboard in a real headless Chromium against the real server (uvicorn) and the SMTP stand-in.

With ``MEMORYLAYER_SCREENSHOTS=docs/images`` the run also saves the screenshots docs/dashboard.md shows.
"""

from __future__ import annotations

from typing import Any

import httpx
from browser_support import Site, button, fill, heading, shot, sign_in, submit, wait_for

from memorylayer.server import admin

EMAIL = "ada@example.com"


def engine_of(site: Site, email: str = EMAIL) -> Any:
    return site.state.engine_for(site.account_id(email))


def test_sign_in_with_the_emailed_code_sets_a_safe_session_cookie_and_sign_out_ends_it(
    browser: Any, site: Site
) -> None:
    browser.get(site.url + "/keys")
    assert "/signin" in browser.current_url and heading(browser) == "Sign in"
    fill(browser, "email", EMAIL)
    submit(browser, button(browser, "Email me a code"))
    fill(browser, "code", "000000" if site.inbox.code_for(EMAIL) != "000000" else "111111")
    submit(browser, button(browser, "Sign in"))
    assert "Invalid or expired verification code" in browser.find_element("css selector", "[role=alert]").text
    fill(browser, "code", site.inbox.code_for(EMAIL))
    submit(browser, button(browser, "Sign in"))
    assert browser.current_url == site.url + "/keys" and heading(browser) == "API keys"
    cookie = browser.get_cookie("memorylayer_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["secure"] is False
    assert cookie["path"] == "/" and cookie["expiry"] > 0
    assert browser.execute_script("return document.cookie").find("memorylayer_session") == -1
    assert "this browser" in browser.find_element("css selector", "table").text

    submit(browser, button(browser, "Sign out"))
    assert heading(browser) == "Sign in" and browser.get_cookie("memorylayer_session") is None
    browser.get(site.url + "/memories")
    assert "/signin" in browser.current_url
    account = site.account_id(EMAIL)
    keys = site.state.store.list_keys(account)
    assert [k.revoked_at is not None for k in keys] == [True]


def test_browse_search_edit_and_delete_memories(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    engine = engine_of(site)
    engine.add("travel", "Ada prefers window seats on long flights", key="seat")
    engine.add("travel", "Ada's passport expires in March 2031", extract=False)
    engine.add("travel", "Ada is allergic to peanuts", extract=False, metadata={"topic": "health"})
    engine.add("work", "Ada leads the compiler team", extract=False)
    browser.get(site.url + "/memories")
    rows = browser.find_elements("css selector", "tbody tr")
    assert [r.text.split()[:2] for r in rows] == [["travel", "3"], ["work", "1"]]
    shot(browser, "scopes")

    submit(browser, browser.find_element("link text", "travel"))
    assert heading(browser) == "travel" and "3 memories" in browser.page_source
    shot(browser, "scope")
    fill(browser, "q", "food allergy")
    submit(browser, button(browser, "Apply"))
    first = browser.find_element("css selector", "tbody tr")
    assert "peanuts" in first.text
    shot(browser, "search")
    fill(browser, "q", "")
    fill(browser, "key", "sea")
    submit(browser, button(browser, "Apply"))
    assert [r.text for r in browser.find_elements("css selector", "tbody tr td.mono")] == ["seat"]

    submit(browser, browser.find_element("partial link text", "window seats"))
    fill(browser, "value", "Ada prefers aisle seats on long flights")
    fill(browser, "importance", "0.9")
    fill(browser, "metadata", '{"airline": "any"}')
    submit(browser, button(browser, "Save"))
    assert browser.find_element("css selector", "[role=status]").text == "Saved."
    assert "aisle" in browser.find_element("id", "memory-value").text
    history = browser.find_elements("css selector", "tbody tr")
    assert len(history) == 1 and "window seats" in history[0].text and "updated" in history[0].text
    saved = engine.get_key("travel", "seat")
    assert saved.importance == 0.9 and saved.metadata == {"airline": "any"}
    shot(browser, "memory")
    fill(browser, "metadata", "[1, 2]")
    submit(browser, button(browser, "Save"))
    assert "metadata: expected a JSON object" in browser.find_element("css selector", "[role=alert]").text

    submit(browser, browser.find_element("link text", "Delete…"))
    assert heading(browser) == "Delete this memory?"
    submit(browser, button(browser, "Delete the memory"))
    assert "The memory was deleted." in browser.page_source and engine.get_key("travel", "seat") is None

    submit(browser, browser.find_element("link text", "Delete this scope…"))
    fill(browser, "confirm", "trave")
    submit(browser, button(browser, "Delete the scope"))
    assert "Type the scope's name exactly" in browser.page_source and engine.count("travel") == 2
    fill(browser, "confirm", "travel")
    submit(browser, button(browser, "Delete the scope"))
    assert "The scope and all its memories were deleted." in browser.page_source
    assert engine.count("travel") == 0 and engine.count("work") == 1


def test_recall_playground_shows_the_agents_context_and_each_scores_parts(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    engine = engine_of(site)
    engine.add("prefs", "vegetarian", key="diet", importance=0.9)
    engine.add("prefs", "The user lives in Lyon, France", extract=False)
    engine.add("prefs", "The user's cat is called Miso", extract=False)
    browser.get(site.url + "/playground")
    fill(browser, "scope", "prefs")
    fill(browser, "query", "what food does the user eat?")
    fill(browser, "max_items", "1")
    submit(browser, button(browser, "Recall"))
    wire = engine.recall("prefs", "what food does the user eat?", max_items=1, record_access=False)
    assert browser.find_element("id", "recall-context").text == wire.context == "diet: vegetarian"
    tables = browser.find_elements("css selector", "table.explain")
    kept = tables[0].find_elements("css selector", "tbody tr")
    cells = [c.text for c in kept[0].find_elements("tag name", "td")]
    parts = [float(x) for x in cells[6:10]]
    assert cells[0] == "1" and "vegetarian" in cells[1]
    assert abs(sum(parts) * float(cells[10]) - float(cells[11])) < 0.003
    assert abs(float(cells[11]) - wire.ranking.scores[0]) < 0.001
    missed = tables[1].find_elements("css selector", "tbody tr")
    assert len(missed) == 2 and all("threshold" in r.text or "did not fit" in r.text for r in missed), [
        r.text for r in missed
    ]
    # a preview, not a use: the access history stays as it was
    assert engine.get_key("prefs", "diet").recall_count == 0
    shot(browser, "playground")


def test_create_a_key_shown_once_that_works_then_revoke_it(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    browser.get(site.url + "/keys")
    fill(browser, "key-name", "laptop agent")
    browser.find_element("css selector", "input[name='scope:account:admin']").click()
    fill(browser, "key-expiry", "30")
    shot(browser, "keys")
    submit(browser, button(browser, "Create key"))
    assert heading(browser) == "Key created"
    raw = browser.find_element("id", "raw-key").get_attribute("value")
    assert raw.startswith("wm_live_")
    button(browser, "Copy").click()
    wait_for(browser, lambda d: d.find_element("css selector", "[data-copied-for=raw-key]").text != "")
    shot(browser, "key-created")
    who = httpx.get(site.url + "/v1/account", headers={"Authorization": f"Bearer {raw}"}).json()
    assert who["key"]["scopes"] == "memory:read,memory:write,account:admin" and who["key"]["name"] == "laptop agent"

    browser.get(site.url + "/keys")
    assert raw not in browser.page_source
    submit(browser, browser.find_element("css selector", "button[aria-label='Revoke key laptop agent']"))
    assert httpx.get(site.url + "/v1/account", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_containers_with_their_keys_and_usage_follow_the_plan(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    browser.get(site.url + "/containers")
    assert "Current plan: free" in browser.page_source
    admin.set_plan(site.state.store, site.state.server, EMAIL, "pro")
    browser.get(site.url + "/containers")
    fill(browser, "container-name", "support-bot")
    submit(browser, button(browser, "Create container"))
    assert heading(browser) == "support-bot"
    fill(browser, "key-name", "support agent")
    submit(browser, button(browser, "Create key"))
    raw = browser.find_element("id", "raw-key").get_attribute("value")
    headers = {"Authorization": f"Bearer {raw}"}
    added = httpx.post(
        site.url + "/v1/memories", json={"scope": "faq", "key": "hours", "value": "9-5"}, headers=headers
    )
    assert added.status_code == 200, added.text
    submit(browser, browser.find_element("link text", "Done"))
    assert "1" in browser.find_element("css selector", "dl.facts").text
    assert len(browser.find_elements("css selector", "svg rect.bar-api")) == 30
    shot(browser, "container")
    browser.get(site.url + "/usage")
    meters = browser.find_elements("css selector", "meter")
    assert [m.get_attribute("value") for m in meters] == ["1", "1"]  # one memory, one API call (the add)
    assert "support agent" in browser.find_elements("css selector", "table")[-2].text
    assert "1 API calls" in browser.find_element("css selector", "svg title").get_attribute("textContent")
    shot(browser, "usage")
    browser.get(site.url + "/containers")
    shot(browser, "containers")


def test_a_memory_whose_text_is_markup_is_shown_as_text_and_runs_nothing(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b id="bold">bold</b>'
    engine_of(site).add("web", hostile, key="<i>k</i>")
    for path in ("/memories", "/memories/list?scope=web", "/memories/list?scope=web&q=bold"):
        browser.get(site.url + path)
        assert browser.execute_script("return window.pwned") is None
    memory = engine_of(site).get_key("web", "<i>k</i>")
    browser.get(f"{site.url}/memories/{memory.id}")
    assert browser.find_element("id", "memory-value").text == hostile
    assert browser.find_elements("id", "bold") == [] and browser.find_elements("css selector", "main i") == []
    assert browser.execute_script("return window.pwned") is None
    browser.get(site.url + "/playground?scope=web&query=bold")
    assert browser.execute_script("return window.pwned") is None
    assert hostile in browser.find_element("id", "recall-context").text


def test_a_form_with_a_wrong_csrf_token_is_refused_and_changes_nothing(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    engine = engine_of(site)
    engine.add("notes", "keep me", key="k")
    memory = engine.get_key("notes", "k")
    browser.get(f"{site.url}/memories/{memory.id}/delete")
    browser.execute_script("document.querySelector('main form input[name=csrf_token]').value = 'forged'")
    submit(browser, button(browser, "Delete the memory"))
    assert heading(browser) == "Not allowed" and "did not come from this site" in browser.page_source
    assert engine.get_key("notes", "k") is not None
    browser.delete_all_cookies()  # signed out, forms are protected too (double-submit cookie)
    browser.get(site.url + "/signin")
    browser.delete_cookie("memorylayer_csrf")
    fill(browser, "email", "eve@example.com")
    submit(browser, button(browser, "Email me a code"))
    assert heading(browser) == "Not allowed" and site.inbox.messages[-1]["To"] == EMAIL


def test_claim_a_cache_end_to_end_and_the_pages_for_claimed_expired_and_unknown_links(browser: Any, site: Site) -> None:
    made = httpx.post(site.url + "/v1/cache", json={}).json()["cache"]
    token = {"Authorization": f"Bearer {made['rawToken']}"}
    for key, value in (("name", "Grace"), ("city", "Arlington")):
        httpx.post(site.url + "/v1/cache/set", json={"key": key, "value": value}, headers=token)
    browser.get(made["claimUrl"])
    assert heading(browser) == "Claim a memory cache"
    assert [li.text for li in browser.find_elements("css selector", "ul.keys li")] == ["city", "name"]
    assert "Arlington" not in browser.page_source
    shot(browser, "claim")
    submit(browser, browser.find_element("link text", "Sign in to claim"))
    fill(browser, "email", EMAIL)
    submit(browser, button(browser, "Email me a code"))
    fill(browser, "code", site.inbox.code_for(EMAIL))
    submit(browser, button(browser, "Sign in"))
    assert browser.current_url == made["claimUrl"]
    submit(browser, button(browser, f"Claim into {EMAIL}"))
    assert heading(browser) == "Cache claimed"
    key = browser.find_element("id", "container-key").get_attribute("value")
    shot(browser, "claim-done")
    got = httpx.post(
        site.url + "/v1/memories/get",
        json={"scope": f"cache-{made['id']}", "key": "city"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert got["memory"]["value"] == "Arlington"
    submit(browser, browser.find_element("link text", "See the memories"))
    assert "Arlington" in browser.page_source

    browser.get(made["claimUrl"])
    assert heading(browser) == "Already claimed" and key not in browser.page_source
    browser.get(site.url + "/claim/wm_claim_nothing")
    assert heading(browser) == "Unknown claim link"
    stale = httpx.post(site.url + "/v1/cache", json={"ttlSeconds": 60}).json()["cache"]
    site.clock.advance(120)
    browser.get(stale["claimUrl"])
    assert heading(browser) == "Claim link expired"
    shot(browser, "claim-expired")


def test_api_docs_render_from_the_installed_package_under_the_policy(browser: Any, site: Site) -> None:
    browser.get(site.url + "/docs")
    title = wait_for(browser, lambda d: d.find_elements("css selector", ".swagger-ui .info .title"))
    assert "MemoryLayer server" in title[0].text
    wait_for(browser, lambda d: d.find_elements("css selector", ".opblock-summary-path"))
    paths = {e.text for e in browser.find_elements("css selector", ".opblock-summary-path")}
    assert "/v1/recall" in {p.replace("\u200b", "") for p in paths}
    shot(browser, "docs")


def test_the_memory_page_shows_the_timeline_of_a_key_and_when_a_memory_expires(browser: Any, site: Site) -> None:
    sign_in(browser, site, EMAIL)
    engine = engine_of(site)
    for when, city in ((1704844800000, "Paris"), (1740787200000, "Berlin"), (1771113600000, "Tromsø")):
        engine.add("home", city, key="residence", created_at=when)
    engine.update(engine.get_key("home", "residence").id, metadata={"checked": True})  # not a new value
    note = engine.add("home", "Parcel arrives Tuesday", extract=False, ttl=7 * 86_400).memories[0]
    browser.get(f"{site.url}/memories/{engine.get_key('home', 'residence').id}")
    spans = [li.text for li in browser.find_elements("css selector", "ol.timeline li")]
    assert spans == [
        "2024-01-10 00:00 UTC → 2025-03-01 00:00 UTC: Paris",
        "2025-03-01 00:00 UTC → 2026-02-15 00:00 UTC: Berlin",
        "2026-02-15 00:00 UTC → now: Tromsø (current)",
    ]
    assert browser.find_element("css selector", "ol.timeline li[aria-current=true]").text.endswith("(current)")
    assert browser.find_element("id", "memory-validity").text == "from 2026-02-15 00:00 UTC, still holds"
    shot(browser, "timeline")
    browser.get(f"{site.url}/memories/{note.id}")
    assert browser.find_elements("css selector", "ol.timeline") == []
    assert browser.find_element("id", "memory-expiry").text.endswith("UTC")
