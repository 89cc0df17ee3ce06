// new_text: the new part of a reply, without quoted history and signature, for the
// reply headers English, Swedish and Danish mail clients write.
#include <catch2/catch.hpp>

#include "parser/parse.h"

using sd::parser::parse;
using sd::parser::reply_new_part;

TEST_CASE("An English 'On ... wrote:' reply keeps only the new text", "[parser][reply]") {
  CHECK(reply_new_part("Thanks, it works now.\n\nOn Tue, 5 Mar 2024 at 10:15, Desk <desk@x.org> wrote:\n"
                       "> Please restart the router.\n> \n") == "Thanks, it works now.\n");
  // Gmail wraps the attribution over two lines.
  CHECK(reply_new_part("Fixed.\n\nOn Tue, 5 Mar 2024 at 10:15, Service Desk of Example <desk@example.org>\n"
                       "wrote:\n> old\n") == "Fixed.\n");
}

TEST_CASE("Swedish and Danish 'Den ... skrev' replies keep only the new text", "[parser][reply]") {
  CHECK(reply_new_part("Tack, nu fungerar det.\n\nDen tis 5 mars 2024 kl 10:15 skrev Support <s@x.se>:\n> Starta om.\n") ==
        "Tack, nu fungerar det.\n");
  CHECK(reply_new_part("Tak for hj\xC3\xA6lpen.\n\nDen tir. 5. mar. 2024 kl. 10.15 skrev Support <s@x.dk>:\n> Genstart.\n") ==
        "Tak for hj\xC3\xA6lpen.\n");
}

TEST_CASE("Outlook header blocks in English, Swedish and Danish start the history", "[parser][reply]") {
  CHECK(reply_new_part("New text.\n\n________________________________\nFrom: Desk <d@x.org>\nSent: Tuesday\n"
                       "To: Me\nSubject: RE: x\n\nold text\n") == "New text.\n");
  CHECK(reply_new_part("Ny text.\n\nFr\xC3\xA5n: Desk <d@x.se>\nSkickat: den 5 mars 2024 10:15\nTill: Mig\n"
                       "\xC3\x84mne: SV: x\n\ngammal text\n") == "Ny text.\n");
  CHECK(reply_new_part("Ny tekst.\n\nFra: Desk <d@x.dk>\nSendt: 5. marts 2024 10:15\nTil: Mig\nEmne: SV: x\n\n"
                       "gammel tekst\n") == "Ny tekst.\n");
  // A "From:" line that is not followed by a header block is text.
  CHECK(reply_new_part("From: the top of my head, I think it is fine.\nBye\n") ==
        "From: the top of my head, I think it is fine.\nBye\n");
}

TEST_CASE("Original-message separators in three languages start the history", "[parser][reply]") {
  for (const char* sep : {"-----Original Message-----", "-----Ursprungligt meddelande-----",
                          "-----Oprindelig meddelelse-----", "----- original message -----"}) {
    INFO(sep);
    CHECK(reply_new_part(std::string("Answer here.\n\n") + sep + "\nFrom: a\nold\n") == "Answer here.\n");
  }
}

TEST_CASE("Quoted lines and the signature are not new text while body_text keeps everything", "[parser][reply]") {
  const std::string body = "> you asked\nMy answer\n> more\nSecond line\n-- \nAnna Agent\nIT Support\n";
  CHECK(reply_new_part(body) == "My answer\nSecond line\n");
  const auto m = parse("Content-Type: text/plain\r\n\r\n" + body);
  CHECK(m.body_text == body);
  CHECK(m.new_text == "My answer\nSecond line\n");
}

TEST_CASE("A bottom-posted reply keeps the text below the quote", "[parser][reply]") {
  CHECK(reply_new_part("On Mon, 4 Mar 2024, Desk wrote:\n> question?\n\nMy answer below.\n") ==
        "My answer below.\n");
}

TEST_CASE("A mail that is not a reply is new text in full", "[parser][reply]") {
  CHECK(reply_new_part("Hello,\n\nmy screen is black.\n") == "Hello,\n\nmy screen is black.\n");
  CHECK(reply_new_part("").empty());
}

TEST_CASE("An HTML reply is quoted with '>' and its new part found", "[parser][reply]") {
  const auto m = parse(
      "Content-Type: text/html; charset=utf-8\r\n\r\n"
      "<div>Works now, thanks!</div><br><div class=\"gmail_quote\"><div>On Tue, 5 Mar 2024 at 10:15, "
      "Desk &lt;desk@x.org&gt; wrote:<br></div><blockquote><p>Please restart.</p>"
      "<blockquote>Is it broken?</blockquote></blockquote></div>");
  CHECK(m.body_text ==
        "Works now, thanks!\n\nOn Tue, 5 Mar 2024 at 10:15, Desk <desk@x.org> wrote:\n\n"
        "> Please restart.\n\n> > Is it broken?\n");
  CHECK(m.new_text == "Works now, thanks!\n");
}

TEST_CASE("An Outlook HTML reply with a bold header block keeps only the new text", "[parser][reply]") {
  const auto m = parse(
      "Content-Type: text/html; charset=utf-8\r\n\r\n"
      "<p>Det fungerar nu.</p><div style=\"border-top:solid #E1E1E1 1.0pt\"><p><b>Fr\xC3\xA5n:</b> "
      "Support &lt;s@x.se&gt;<br><b>Skickat:</b> den 5 mars 2024<br><b>Till:</b> Mig<br>"
      "<b>\xC3\x84mne:</b> Ärende</p></div><p>Gammal text</p>");
  CHECK(m.new_text == "Det fungerar nu.\n");
  CHECK(m.body_text.find("Gammal text") != std::string::npos);
}
