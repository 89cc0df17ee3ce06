// Attachments and inline images: decoded names, types, sizes and bytes; forwarded mail
// (message/rfc822); delivery reports.
#include <catch2/catch.hpp>

#include "parser/parse.h"

using sd::parser::Limits;
using sd::parser::parse;

namespace {

const char* kMailWithAttachments =
    "From: Eva <eva@example.se>\r\n"
    "Subject: Invoice\r\n"
    "Content-Type: multipart/mixed; boundary=\"mix;ed\"\r\n\r\n"
    "--mix;ed\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
    "--mix;ed\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?faktura_=C3=A5r.pdf?=\"\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''faktura%20%C3%A5r.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    "--mix;ed\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n"
    "Content-Disposition: attachment\r\n\r\nnot body text\r\n"
    "--mix;ed\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline; filename=\"../../etc/photo.jpg\"\r\n"
    "Content-ID: <img1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n"
    "--mix;ed--\r\n";

}  // namespace

TEST_CASE("Attachments have decoded names, types, sizes and bytes", "[parser][attachments]") {
  const auto m = parse(kMailWithAttachments);
  CHECK(m.body_text == "See attached.");
  REQUIRE(m.attachments.size() == 3);
  const auto& pdf = m.attachments[0];
  CHECK(pdf.filename == "faktura \xC3\xA5r.pdf");
  CHECK(pdf.content_type == "application/pdf");
  CHECK(pdf.size == 9);
  CHECK(pdf.data == "%PDF-1.4\n");
  CHECK_FALSE(pdf.is_inline);
  CHECK(m.attachments[1].filename == "notes.txt");
  CHECK(m.attachments[1].data == "not body text");
  const auto& img = m.attachments[2];
  CHECK(img.filename == "photo.jpg");  // a display name, never a path
  CHECK(img.is_inline);
  CHECK(img.content_id == "img1@x");
  CHECK(img.size == 6);
}

TEST_CASE("An attachment over max_attachment_bytes keeps name and size, not bytes", "[parser][attachments]") {
  Limits limits;
  limits.max_attachment_bytes = 4;
  const auto m = parse(kMailWithAttachments, limits);
  REQUIRE(m.attachments.size() == 3);
  CHECK(m.attachments[0].filename == "faktura \xC3\xA5r.pdf");
  CHECK(m.attachments[0].size == 9);
  CHECK(m.attachments[0].data.empty());
  CHECK_FALSE(m.problems.empty());
}

TEST_CASE("A forwarded message is an attachment and its text is shown when the mail has none",
          "[parser][attachments]") {
  const std::string inner =
      "From: =?UTF-8?Q?Ola_Nordmann?= <ola@example.no>\r\nSubject: Printer broken\r\n"
      "Date: Mon, 4 Mar 2024 09:00:00 +0100\r\n\r\nThe printer on floor 2 is broken.\r\n";
  const auto only_forward = parse(
      "Subject: Fwd: Printer broken\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--b--\r\n");
  REQUIRE(only_forward.attachments.size() == 1);
  CHECK(only_forward.attachments[0].filename == "Printer broken.eml");
  CHECK(only_forward.attachments[0].content_type == "message/rfc822");
  CHECK(only_forward.attachments[0].data == inner.substr(0, inner.size() - 2));
  CHECK(only_forward.body_text.find("From: Ola Nordmann <ola@example.no>") != std::string::npos);
  CHECK(only_forward.body_text.find("Subject: Printer broken") != std::string::npos);
  CHECK(only_forward.body_text.find("The printer on floor 2 is broken.") != std::string::npos);

  const auto with_note = parse(
      "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nPlease look at this.\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--b--\r\n");
  CHECK(with_note.body_text == "Please look at this.");
  REQUIRE(with_note.attachments.size() == 1);
}

TEST_CASE("A delivery-status report is recognised as automatic", "[parser][attachments]") {
  const auto m = parse(
      "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nSubject: Undelivered Mail\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
      "--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
      "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
      "Final-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "--r\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n--r--\r\n");
  CHECK(m.delivery_report);
  CHECK(m.automatic == "delivery-status report");
  CHECK(m.body_text == "Your message could not be delivered.");
  REQUIRE(m.attachments.size() == 2);
  CHECK(m.attachments[0].content_type == "message/delivery-status");
  CHECK(m.attachments[1].content_type == "text/rfc822-headers");
}
