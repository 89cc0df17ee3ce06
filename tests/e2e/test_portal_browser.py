"""End-to-end in a real browser: Debian's headless Chromium, driven with python3-selenium,
against `servicedesk portal` and the daemon on a real Dovecot and SMTP server.

A customer asks for a sign-in link, finds it in the mail (the SMTP capture), signs in,
sees her organisation's tickets, opens one and replies with a file, and the agent receives
it by mail; the agent signs in, filters the queue, resolves the ticket, and the customer's
mail arrives. Nothing is downloaded: Chromium and ChromeDriver come from Debian.

SD_SCREENSHOTS=DIR saves screenshots of the main pages there (docs/screenshots/ holds a set).
"""
import os
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import servicedesk_bin  # noqa: E402
from portal import AGENT, CUSTOMER, OTHER_CUSTOMER, PortalDesk  # noqa: E402

from selenium import webdriver  # noqa: E402  (python3-selenium; scripts/deps installs it)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

GUIDE = b"%PDF-1.4 guide\n" + bytes(reversed(range(256))) * 8


def chromium():
    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--lang=sv"):
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class PortalInABrowser(unittest.TestCase, PortalDesk):
    def setUp(self):
        self.start_desk(self)
        self.shots = pathlib.Path(os.environ["SD_SCREENSHOTS"]) if os.environ.get("SD_SCREENSHOTS") else None
        self.browser = chromium()
        self.addCleanup(self.browser.quit)

    def shot(self, name):
        if self.shots:
            self.shots.mkdir(parents=True, exist_ok=True)
            self.browser.save_screenshot(str(self.shots / f"{name}.png"))

    def open(self, path):
        self.browser.get(self.base_url + path)

    def submit(self, form_action):
        form = self.browser.find_element(By.CSS_SELECTOR, f'form[action="{form_action}"]')
        form.find_element(By.CSS_SELECTOR, 'button[type="submit"], input[type="submit"]').click()
        # click() returns before the answer is loaded: wait until the page with the form is gone.
        WebDriverWait(self.browser, 30).until(expected_conditions.staleness_of(form))

    def sign_in_in_browser(self, addr):
        before = len(self.login_links(addr))
        self.open("/login")
        self.shot("login")
        self.browser.find_element(By.NAME, "email").send_keys(addr)
        self.submit("/login")
        self.assertNotIn("403", self.browser.title, self.browser.page_source[:3000])
        self.shot("login-sent")
        link = self.wait_for_link(addr, before + 1)
        self.browser.get(link)
        self.shot("sign-in-button")
        path = link[len(self.base_url):]
        self.submit(path)
        self.assertIn("/tickets", self.browser.current_url, self.browser.page_source[:2000])

    def test_a_customer_replies_with_a_file_and_an_agent_resolves_from_the_queue(self):
        self.deliver(CUSTOMER, "Skrivaren på plan 3", "Skrivaren är trasig.\r\n", "b1@acme.se")
        self.deliver(OTHER_CUSTOMER, "Fortroligt", "Hemmelig sag.\r\n", "b2@beta.dk")
        self.wait_for_ticket(2)
        self.sign_in_in_browser(CUSTOMER)
        page = self.browser.page_source
        self.assertIn("SD-1", page)
        self.assertIn("Skrivaren på plan 3", page)
        self.assertNotIn("Fortroligt", page, "another organisation's ticket is listed")
        self.shot("customer-tickets")
        self.browser.find_element(By.LINK_TEXT, "SD-1").click()
        self.assertIn("/tickets/SD-1", self.browser.current_url)
        self.shot("customer-ticket")
        self.assertEqual(self.browser.find_elements(By.NAME, "priority"), [], "a customer is offered the priority")
        with tempfile.NamedTemporaryFile(suffix=".pdf", prefix="guide-", delete=False) as f:
            f.write(GUIDE)
        self.addCleanup(os.unlink, f.name)
        self.browser.find_element(By.NAME, "text").send_keys("Här är en bild av felet.")
        self.browser.find_element(By.NAME, "files").send_keys(f.name)
        self.submit("/tickets/SD-1/reply")
        note = self.wait_for_mail(AGENT, lambda m: any(True for _ in m.iter_attachments()), "the agent's notification")
        self.assertEqual({p.get_filename(): p.get_content() for p in note.iter_attachments()},
                         {os.path.basename(f.name): GUIDE})
        self.assertIn("Här är en bild av felet.", note.get_body(("plain",)).get_content())

        self.browser.delete_all_cookies()
        self.sign_in_in_browser(AGENT)
        self.shot("agent-queue")
        queue = self.browser.page_source
        self.assertIn("SD-1", queue)
        self.assertIn("SD-2", queue)
        # Filter the queue by organisation: only Acme's ticket is left.
        org = self.browser.find_element(By.NAME, "organisation")
        if org.tag_name == "select":
            Select(org).select_by_visible_text("Acme")
        else:
            org.send_keys("Acme")
        org.find_element(By.XPATH, "ancestor::form").find_element(
            By.CSS_SELECTOR, 'button[type="submit"], input[type="submit"]').click()
        self.assertIn("organisation=Acme", self.browser.current_url)
        self.assertIn("SD-1", self.browser.page_source)
        self.assertNotIn("Fortroligt", self.browser.page_source)
        self.browser.find_element(By.LINK_TEXT, "SD-1").click()
        self.shot("agent-ticket")
        self.browser.find_element(By.NAME, "text").send_keys("Vi har bytt tonern, nu skriver den igen.")
        Select(self.browser.find_element(By.NAME, "status")).select_by_value("resolved")
        self.submit("/tickets/SD-1/reply")
        got = self.wait_for_mail(
            CUSTOMER, lambda m: "Vi har bytt tonern" in m.get_body(("plain",)).get_content(), "the resolution mail")
        self.assertIn("[SD-1]", str(got["Subject"]))
        self.assertEqual(self.daemon.show("SD-1")["status"], "resolved")


if __name__ == "__main__":
    unittest.main()
