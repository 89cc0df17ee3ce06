"""End-to-end: the web portal over HTTP, with the daemon, a real Dovecot and SMTP server.

What a visitor, a link scanner and an attacker get from `servicedesk portal`: sign-in by a
mailed link that a scanner's GET or HEAD does not use up, one use only; the same answer for
every address; rate limits; the session cookie's flags; CSRF on every POST; another
organisation's ticket, file and API object answering 404; the security headers; a
customer's portal reply reaching the agent with its file, and an agent's portal
resolution reaching the customer by mail; an agent's major incident declared, listed,
broadcast to the customer by mail and its report under its own policy, none of it a
contact's.
"""
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import servicedesk_bin  # noqa: E402
from portal import AGENT, COLLEAGUE, CUSTOMER, OTHER_CUSTOMER, Client, PortalDesk, text_mail  # noqa: E402

INVOICE = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class PortalOverHttp(unittest.TestCase, PortalDesk):
    def setUp(self):
        self.start_desk(self, portal_overrides={"login_requests_per_client_per_minute": 30})

    def path_of(self, link):
        return urllib.parse.urlsplit(link).path

    def test_a_link_scanners_get_and_head_leave_the_link_usable_and_it_works_once(self):
        c = Client(self.port)
        r = self.request_link(c, CUSTOMER)
        self.assertEqual(r.status, 200, r.text)
        link = self.wait_for_link(CUSTOMER)
        path = self.path_of(link)
        # The scanner: GETs and HEADs with no cookie, in a client of its own.
        scanner = Client(self.port)
        for _ in range(2):
            self.assertEqual(scanner.get(path).status, 200)
            self.assertEqual(scanner.request("HEAD", path).status, 200)
        self.assertNotIn("sd_session", scanner.cookies)
        page = c.get(path)
        self.assertIn(f'action="{path}"', page.text, "the link's page has no Sign in form posting the token")
        signed = c.post(path, {"csrf": page.field("csrf") or ""})
        self.assertEqual(signed.status, 303, signed.text)
        self.assertIn("sd_session", c.cookies)
        cookie = next(v for v in signed.all("Set-Cookie") if v.startswith("sd_session="))
        self.assertIn("httponly", cookie.lower())
        self.assertIn("samesite=lax", cookie.lower())
        self.assertNotIn("secure", cookie.lower(), "Secure on a plain-http base_url would lose the cookie")
        self.assertGreaterEqual(len(cookie.split(";")[0].split("=", 1)[1]), 22, "session id under 128 bits")
        self.assertEqual(c.get("/tickets").status, 200)
        # The same link again, in another browser: no session.
        other = Client(self.port)
        again = other.get(path)
        r = other.post(path, {"csrf": again.field("csrf") or ""})
        self.assertNotEqual(r.status, 303, "a used link signed in again")
        self.assertNotIn("sd_session", other.cookies)
        self.assertEqual(other.get("/tickets").status, 303, "not signed in: /tickets should send to /login")

    def test_an_expired_link_does_not_sign_in(self):
        c = Client(self.port)
        self.request_link(c, CUSTOMER)
        path = self.path_of(self.wait_for_link(CUSTOMER))
        # The portal's clock 16 minutes on (the test clock, [test] clock_offset_s): past
        # login_link_minutes (15).
        self.portal.stop()
        self.config.write_text(self.config.read_text().replace("[test]", "[test]\nclock_offset_s = 960", 1))
        self.portal.start()
        self.portal.wait_until(lambda: Client(self.port).get("/healthz").status == 200, 30, what="the portal")
        page = c.get(path)
        r = c.post(path, {"csrf": page.field("csrf") or ""})
        self.assertNotEqual(r.status, 303)
        self.assertNotIn("sd_session", c.cookies)

    def test_every_address_gets_the_same_answer_and_only_registered_ones_get_mail(self):
        c = Client(self.port)
        known = self.request_link(c, CUSTOMER)
        unknown = self.request_link(c, "nobody@acme.se")
        self.assertEqual((known.status, unknown.status), (200, 200))
        self.assertEqual(known.body, unknown.body, "the page tells a registered address from an unknown one")
        self.wait_for_link(CUSTOMER)
        self.request_link(c, AGENT)
        self.wait_for_link(AGENT)
        time.sleep(2)
        self.assertEqual(self.received_by("nobody@acme.se"), [])

    def test_past_the_per_address_limit_the_answer_is_the_same_and_nothing_is_sent(self):
        c = Client(self.port)
        answers = {self.request_link(c, COLLEAGUE).body for _ in range(7)}
        self.assertEqual(len(answers), 1)
        self.wait_for_link(COLLEAGUE, 5)
        time.sleep(3)
        self.assertEqual(len(self.login_links(COLLEAGUE)), 5, "more sign-in mails than login_mails_per_address_per_hour")

    def test_past_the_per_client_limit_post_login_is_429_and_a_forged_forwarded_for_does_not_help(self):
        c = Client(self.port)
        statuses = []
        for i in range(35):
            form = c.get("/login")
            statuses.append(c.post("/login", {"email": f"x{i}@nowhere.example", "csrf": form.field("csrf") or ""},
                                   headers={"X-Forwarded-For": f"10.0.0.{i}"}).status)
        self.assertEqual(statuses[:30], [200] * 30)
        self.assertIn(429, statuses[30:], "an untrusted X-Forwarded-For reset the per-client limit")

    def test_a_post_without_or_with_a_wrong_csrf_token_is_403(self):
        c = Client(self.port)
        c.get("/login")
        self.assertEqual(c.post("/login", {"email": CUSTOMER}).status, 403)
        self.assertEqual(c.post("/login", {"email": CUSTOMER, "csrf": "forged"}).status, 403)
        # Another site's form: right token, wrong Origin.
        form = c.get("/login")
        r = c.post("/login", {"email": CUSTOMER, "csrf": form.field("csrf")},
                   headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.login_links(CUSTOMER), [])
        # Signed in: the session's token is required on every POST.
        self.deliver(CUSTOMER, "Skrivaren", "Skrivaren är trasig.\r\n", "p1@acme.se")
        self.wait_for_ticket()
        self.assertEqual(self.sign_in(c, CUSTOMER).status, 303)
        page = c.get("/tickets/SD-1")
        self.assertEqual(page.status, 200)
        for form in ({"text": "hej"}, {"text": "hej", "csrf": "wrong", "form_key": page.field("form_key") or "k"}):
            self.assertEqual(c.post("/tickets/SD-1/reply", form).status, 403)
        self.assertEqual(c.post("/logout", {}).status, 403)
        ins = [m for m in self.daemon.show("SD-1")["messages"] if m["direction"] == "in"]
        self.assertEqual(len(ins), 1, "a reply without a valid token was stored")

    def test_another_organisations_ticket_file_and_api_object_are_404_like_one_that_does_not_exist(self):
        self.stack.deliver(
            ("From: Bo Holm <bo@beta.dk>\r\nTo: servicedesk@example.com\r\nSubject: Hemmeligt\r\n"
             "Message-ID: <b1@beta.dk>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
             "Fortroligt.\r\n--b\r\nContent-Type: application/pdf\r\n"
             "Content-Disposition: attachment; filename=\"kontrakt.pdf\"\r\n\r\nPDFDATA\r\n--b--\r\n").encode())
        self.wait_for_ticket()
        c = Client(self.port)
        self.assertEqual(self.sign_in(c, CUSTOMER).status, 303)
        missing = [c.get("/tickets/SD-99"), c.get("/tickets/SD-99/attachments/1"), c.get("/api/tickets/SD-99")]
        foreign = [c.get("/tickets/SD-1"), c.get("/tickets/SD-1/attachments/1"), c.get("/api/tickets/SD-1")]
        self.assertEqual([r.status for r in foreign], [404, 404, 404])
        self.assertEqual([r.status for r in missing], [404, 404, 404])
        for r in foreign:
            self.assertNotIn("Hemmeligt", r.text)
            self.assertNotIn("kontrakt", r.text)
        listing = c.get("/api/tickets")
        self.assertEqual(listing.status, 200)
        body = json.loads(listing.body)
        self.assertEqual(body if isinstance(body, list) else body.get("tickets"), [])
        self.assertNotIn("Hemmeligt", listing.text)
        self.assertNotIn("Hemmeligt", c.get("/tickets").text)
        # Bo sees it and can download the file, as an attachment with a safe name.
        bo = Client(self.port)
        self.assertEqual(self.sign_in(bo, OTHER_CUSTOMER).status, 303)
        f = bo.get("/tickets/SD-1/attachments/1")
        self.assertEqual(f.status, 200)
        self.assertTrue(f.header("Content-Disposition").startswith("attachment"), f.header("Content-Disposition"))
        self.assertEqual(f.header("X-Content-Type-Options"), "nosniff")

    def test_pages_forbid_inline_script_and_framing_and_the_api_needs_a_session(self):
        c = Client(self.port)
        r = c.get("/login")
        csp = r.header("Content-Security-Policy") or ""
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("<script", r.text.lower())
        self.assertEqual(c.get("/api/tickets").status, 401)
        self.assertEqual(c.get("/healthz").status, 200)

    def test_a_customers_portal_reply_reaches_the_agent_with_its_file(self):
        self.deliver(CUSTOMER, "Fakturan", "Fakturan stämmer inte.\r\n", "p1@acme.se")
        self.wait_for_ticket()
        self.wait_for_mail(AGENT, lambda m: "[SD-1]" in str(m["Subject"]), "the first notification")
        c = Client(self.port)
        self.assertEqual(self.sign_in(c, COLLEAGUE).status, 303, "a colleague of the same organisation")
        page = c.get("/tickets/SD-1")
        self.assertEqual(page.status, 200)
        self.assertIn("Fakturan", page.text)
        form = {"text": "Här är fakturan.", "csrf": page.field("csrf"), "form_key": page.field("form_key")}
        r = c.request("POST", "/tickets/SD-1/reply", form=form,
                      files=[("files", "faktura-4711.pdf", INVOICE, "application/pdf")])
        self.assertIn(r.status, (200, 303), r.text)
        again = c.request("POST", "/tickets/SD-1/reply", form=form,
                          files=[("files", "faktura-4711.pdf", INVOICE, "application/pdf")])
        self.assertIn(again.status, (200, 303), "a double click should land on the ticket, not fail")
        note = self.wait_for_mail(AGENT, lambda m: any(True for _ in m.iter_attachments()), "the agent's notification")
        files = {p.get_filename(): p.get_content() for p in note.iter_attachments()}
        self.assertEqual(files.get("faktura-4711.pdf"), INVOICE)
        self.assertTrue(re.search(r"servicedesk\+SD-1\.[0-9]+\.[0-9a-f]+@example\.com", str(note["Reply-To"])),
                        f"no tokened Reply-To on the portal's notification: {note['Reply-To']}")
        shown = self.daemon.show("SD-1")
        self.assertEqual(sum(1 for m in shown["messages"] if "Här är fakturan" in m["body_text"]),
                         1, "the double click posted twice")

    def test_an_agent_resolves_on_the_portal_and_the_customer_gets_the_mail(self):
        self.deliver(CUSTOMER, "Skrivaren", "Skrivaren är trasig.\r\n", "p1@acme.se")
        self.wait_for_ticket()
        eva = Client(self.port)
        self.assertEqual(self.sign_in(eva, AGENT).status, 303)
        queue = eva.get("/tickets")
        self.assertEqual(queue.status, 200)
        self.assertIn("SD-1", queue.text)
        page = eva.get("/tickets/SD-1")
        r = eva.post("/tickets/SD-1/reply", {"text": "Vi har bytt tonern.", "status": "resolved",
                                             "csrf": page.field("csrf"), "form_key": page.field("form_key")})
        self.assertIn(r.status, (200, 303), r.text)
        got = self.wait_for_mail(CUSTOMER, lambda m: "Vi har bytt tonern" in m.get_body(("plain",)).get_content(),
                                 "the resolution mail")
        self.assertIn("[SD-1]", str(got["Subject"]))
        self.assertEqual(self.daemon.show("SD-1")["status"], "resolved")

    def test_an_agent_declares_broadcasts_and_reads_the_report_of_a_major_incident_on_the_portal(self):
        self.deliver(CUSTOMER, "Inloggningen", "Jag kan inte logga in.\r\n", "p1@acme.se")
        self.wait_for_ticket()
        eva = Client(self.port)
        self.assertEqual(self.sign_in(eva, AGENT).status, 303)
        page = eva.get("/tickets/SD-1")
        r = eva.post("/incidents", {"title": "<script>x</script> Login down", "from": "SD-1",
                                    "csrf": page.field("csrf"), "form_key": page.field("form_key") + "b"})
        self.assertEqual(r.status, 303, r.text)
        self.assertEqual(r.header("Location"), "/tickets/SD-2")
        listed = eva.get("/incidents")
        self.assertEqual(listed.status, 200)
        self.assertIn("&lt;script&gt;x&lt;/script&gt; Login down", listed.text)
        self.assertNotIn("<script", listed.text)
        report = eva.get("/incidents/SD-2/report")
        self.assertEqual(report.status, 200)
        self.assertIn("style-src 'unsafe-inline'", report.header("Content-Security-Policy"))
        self.assertNotIn("script-src", report.header("Content-Security-Policy"))
        inc = eva.get("/tickets/SD-2")
        r = eva.post("/tickets/SD-2/reply", {"text": "Vi har hittat felet.", "broadcast": "1",
                                             "csrf": inc.field("csrf"), "form_key": inc.field("form_key")})
        self.assertEqual(r.status, 303, r.text)
        got = self.wait_for_mail(CUSTOMER, lambda m: "Vi har hittat felet" in m.get_body(("plain",)).get_content(),
                                 "the broadcast")
        self.assertIn("[SD-1]", str(got["Subject"]))
        anna = Client(self.port)
        self.assertEqual(self.sign_in(anna, CUSTOMER).status, 303)
        self.assertEqual(anna.get("/incidents").status, 404)
        self.assertEqual(anna.get("/incidents/SD-2/report").status, 404)

    def test_an_agents_portal_estimate_mails_the_customer_an_approval_address_that_works(self):
        self.deliver(CUSTOMER, "Nytt CRM-flöde", "Kan ni bygga om flödet?\r\n", "p1@acme.se")
        self.wait_for_ticket()
        eva = Client(self.port)
        self.assertEqual(self.sign_in(eva, AGENT).status, 303)
        page = eva.get("/tickets/SD-1")
        r = eva.post("/tickets/SD-1/estimate", {"duration": "2h", "text": "Bygga om flödet",
                                                "csrf": page.field("csrf"), "form_key": page.field("form_key")})
        self.assertEqual(r.status, 303, r.text)
        estimate = self.wait_for_mail(CUSTOMER, lambda m: "Bygga om flödet" in m.get_body(("plain",)).get_content(),
                                      "the estimate mail")
        # The portal holds no token secret: the daemon filled the approval token in at send time.
        approve = re.search(r"servicedesk\+approve\.SD-1\.[0-9]+\.[0-9]+\.[0-9a-f]+@example\.com", str(estimate["Reply-To"]))
        self.assertIsNotNone(approve, str(estimate["Reply-To"]))
        self.stack.deliver(text_mail(f"Anna Berg <{CUSTOMER}>", approve.group(0),
                                     "Re: [SD-1] Uppskattning att godkänna: Nytt CRM-flöde", "Godkänn\r\n", "p2@acme.se"))
        self.wait_for_mail(AGENT, lambda m: "Estimate approved" in str(m["Subject"]), "the approved mail to the agent")
        self.assertEqual(self.daemon.show("SD-1")["status"], "open")
        self.assertEqual([(e["state"], e["answered_via"]) for e in self.daemon.show("SD-1")["estimates"]],
                         [("approved", "mail")])

    def test_an_operators_page_text_shows_and_a_wrong_one_stops_the_start_with_its_file_and_line(self):
        texts = self.stack.dir / "portal-texts"
        texts.mkdir()
        (texts / "portal.en.txt").write_text("# our words\nlogin.intro = Write the address you use at Acme.\n")
        self.portal.stop()
        self.config.write_text(self.config.read_text().replace("[portal]", f'[portal]\ntemplates_dir = "{texts}"', 1))
        self.portal.start()
        self.portal.wait_until(lambda: Client(self.port).get("/healthz").status == 200, 30, what="the portal")
        self.assertIn("Write the address you use at Acme.", Client(self.port).get("/login").text)
        self.portal.stop()
        (texts / "portal.en.txt").write_text("login.intro = fine\nlogin.titel = typo\n")
        self.portal.start()
        self.assertEqual(self.portal.wait_exit(30), 78)
        self.assertIn("portal.en.txt:2", self.portal.log_tail(), self.portal.log_tail())

    def test_visitors_at_the_same_time_all_get_their_pages(self):
        # The workers answer in parallel, each on a store connection of its own: one shared
        # connection failed most concurrent requests.
        import concurrent.futures
        self.deliver(CUSTOMER, "Skrivaren", "Skrivaren är trasig.\r\n", "p1@acme.se")
        self.wait_for_ticket()
        anna, eva = Client(self.port), Client(self.port)
        self.assertEqual(self.sign_in(anna, CUSTOMER).status, 303)
        self.assertEqual(self.sign_in(eva, AGENT).status, 303)
        paths = [(anna, "/tickets"), (anna, "/tickets/SD-1"), (eva, "/tickets"), (eva, "/api/tickets/SD-1")] * 50
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda cp: cp[0].get(cp[1]).status, paths))
        self.assertEqual(statuses.count(200), len(paths), f"not all 200: {sorted(set(statuses))}")

    def test_logout_and_removing_a_contact_end_the_session(self):
        c = Client(self.port)
        self.assertEqual(self.sign_in(c, CUSTOMER).status, 303)
        self.assertEqual(c.get("/tickets").status, 200)
        r = self.cli("contact", "remove", CUSTOMER)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(c.get("/tickets").status, 303, "a removed contact's session still works")
        d = Client(self.port)
        self.assertEqual(self.sign_in(d, COLLEAGUE).status, 303)
        page = d.get("/tickets")
        self.assertEqual(d.post("/logout", {"csrf": page.field("csrf")}).status, 303)
        self.assertEqual(d.get("/tickets").status, 303)


if __name__ == "__main__":
    unittest.main()
