"""In a real browser, in Chinese and in English: finance attaches the signed PDF to a rep's
contract from the contract's page (the file field picked in the attachments panel), the owning rep
sees it with its preview and downloads it, and another rep gets 404 on its address."""
from __future__ import annotations

import re

import pytest
from browser_kit import LOCALES, VIEWPORT, rows, sign_in, speak, user_id, words
from playwright.sync_api import expect

PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")


@pytest.mark.parametrize("locale", LOCALES)
def test_finance_attaches_the_signed_contract_the_rep_sees_it_and_another_rep_gets_404(
        browser, server, tmp_path, locale):
    site = server.site
    contract = rows(site, "contract", owner=user_id(site, "rep1"))[0]
    label = site.blueprint.entities["contract"].fields["signed_copy"].label.text(locale)
    scan = tmp_path / f"signed-{locale}.pdf"
    scan.write_bytes(PDF)

    finance = browser.new_context(base_url=server.url, viewport=VIEWPORT)
    page = finance.new_page()
    sign_in(page, "finance")
    speak(page, locale)
    page.goto(f"/r/contract/{contract['id']}")
    panel = page.locator("#attachments")
    expect(panel.locator("h2")).to_contain_text(words("Files", locale))
    panel.locator("select[name=field]").select_option(label=label)
    panel.locator("input[type=file]").set_input_files(str(scan))
    panel.locator("button", has_text=words("Upload", locale)).click()
    expect(page.locator("#attachments .file-name", has_text=scan.name)).to_be_visible()
    link = page.locator("#attachments .file-name", has_text=scan.name).get_attribute("href")
    assert re.fullmatch(r"/files/\d+", link or "")
    finance.close()

    rep = browser.new_context(base_url=server.url, viewport=VIEWPORT)
    page = rep.new_page()
    sign_in(page, "rep1")
    speak(page, locale)
    page.goto(f"/r/contract/{contract['id']}")
    expect(page.locator("#attachments .file-name", has_text=scan.name)).to_be_visible()
    page.locator("#attachments details.file-preview summary").last.click()
    expect(page.locator(f"#attachments iframe[src='{link}?inline=1']")).to_be_visible()
    downloaded = page.request.get(link)
    assert downloaded.status == 200 and downloaded.body() == PDF
    rep.close()

    other = browser.new_context(base_url=server.url, viewport=VIEWPORT)
    page = other.new_page()
    sign_in(page, "rep2")
    assert page.request.get(link).status == 404
    assert page.goto(f"/r/contract/{contract['id']}").status == 404
    other.close()
