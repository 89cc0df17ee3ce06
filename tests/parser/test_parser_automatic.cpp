// `automatic`: why a mail is not from a person (RFC 3834 and common practice).
#include <catch2/catch.hpp>

#include <string>

#include "parser/parse.h"

using sd::parser::parse;

namespace {
std::optional<std::string> automatic_of(const std::string& headers) {
  return parse("From: Someone <someone@example.org>\r\nSubject: x\r\n" + headers + "\r\nbody\r\n").automatic;
}
}  // namespace

TEST_CASE("Auto-Submitted other than 'no' marks a mail automatic", "[parser][automatic]") {
  CHECK(automatic_of("Auto-Submitted: auto-replied\r\n") == "auto-submitted: auto-replied");
  CHECK(automatic_of("Auto-Submitted: Auto-Generated; owner-email=x@y\r\n") == "auto-submitted: auto-generated");
  CHECK(automatic_of("Auto-Submitted: no\r\n") == std::nullopt);
}

TEST_CASE("Precedence bulk, junk and list mark a mail automatic", "[parser][automatic]") {
  CHECK(automatic_of("Precedence: bulk\r\n") == "precedence: bulk");
  CHECK(automatic_of("Precedence: JUNK\r\n") == "precedence: junk");
  CHECK(automatic_of("Precedence: list\r\n") == "precedence: list");
  CHECK(automatic_of("Precedence: first-class\r\n") == std::nullopt);
}

TEST_CASE("List headers and X-Auto-Response-Suppress mark a mail automatic", "[parser][automatic]") {
  CHECK(automatic_of("List-Id: <news.example.org>\r\n") == "list-id");
  CHECK(automatic_of("List-Unsubscribe: <mailto:u@example.org>\r\n") == "list-unsubscribe");
  CHECK(automatic_of("X-Auto-Response-Suppress: All\r\n") == "x-auto-response-suppress");
}

TEST_CASE("Mail from MAILER-DAEMON or postmaster is automatic", "[parser][automatic]") {
  CHECK(parse("From: MAILER-DAEMON@mx.example\r\n\r\nx").automatic == "sender mailer-daemon");
  CHECK(parse("From: Postmaster <postmaster@example.org>\r\n\r\nx").automatic == "sender postmaster");
  CHECK(parse("Return-Path: <MAILER-DAEMON@mx.example>\r\nFrom: a@b.c\r\n\r\nx").automatic ==
        "return-path mailer-daemon");
}

TEST_CASE("A person's mail is not automatic", "[parser][automatic]") {
  CHECK(automatic_of("") == std::nullopt);
  CHECK(automatic_of("Return-Path: <someone@example.org>\r\n") == std::nullopt);
}

TEST_CASE("Vacation scripts' own marks, Precedence auto_reply, Feedback-ID and an empty Return-Path mark a mail automatic",
          "[parser][automatic]") {
  CHECK(automatic_of("X-Autoreply: yes\r\n") == "x-autoreply");
  CHECK(automatic_of("X-Autorespond: Out of office\r\n") == "x-autorespond");
  CHECK(automatic_of("X-AutoResponder: true\r\n") == "x-autoresponder");
  CHECK(automatic_of("Precedence: auto_reply\r\n") == "precedence: auto_reply");
  CHECK(automatic_of("Feedback-ID: 1:campaign:sender:esp\r\n") == "feedback-id");
  CHECK(automatic_of("Return-Path: <>\r\n") == "return-path <> (a bounce)");
  CHECK(automatic_of("Return-Path: <someone@example.org>\r\n") == std::nullopt);
}

TEST_CASE("Two From fields or two addresses in From make the sender ambiguous", "[parser][automatic]") {
  CHECK_FALSE(parse("From: a@example.org\r\nSubject: x\r\n\r\nb\r\n").from_ambiguous);
  CHECK(parse("From: a@example.org, b@example.org\r\nSubject: x\r\n\r\nb\r\n").from_ambiguous);
  CHECK(parse("From: a@example.org\r\nFrom: b@example.org\r\nSubject: x\r\n\r\nb\r\n").from_ambiguous);
  CHECK(parse("from: a@example.org\r\nFROM: a@example.org\r\nSubject: x\r\n\r\nb\r\n").from_ambiguous);
}
