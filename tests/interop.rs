//! Members whose OpenPGP software is not GnuPG. Each implementation Debian 12
//! ships (and OpenPGP.js from npm) makes its own default key, answers the
//! challenge, opens its copy of a post and checks the list's signature over
//! the inner `multipart/signed` (its exact CRLF bytes), and posts in both
//! RFC 3156 forms: one signed-and-encrypted message, and a `multipart/signed`
//! that is then encrypted.
//!
//! Each implementation is driven through the few Stateless OpenPGP (SOP)
//! verbs a mail client needs: `sqop` and `gosop` speak SOP themselves, and
//! `tests/interop/` holds thin SOP front ends over `rnp`, PGPy and
//! OpenPGP.js. `scripts/install-deps` installs them all.

mod common;
use common::*;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const TEXT: &str = "one post, read by every OpenPGP implementation";

/// One OpenPGP implementation, as the SOP command that drives it.
struct Implementation {
    name: &'static str,
    /// The program and the arguments before the SOP verb.
    command: Vec<String>,
    /// Whether it opens a copy whose session key packet hides the key ID.
    reads_hidden_recipients: bool,
}

fn implementations() -> Vec<Implementation> {
    let here = repo_root().join("tests/interop");
    let front_end = |name: &str| here.join(name).display().to_string();
    let all = [
        ("Sequoia (sqop)", vec!["sqop".to_string()], true),
        ("GopenPGP (gosop)", vec!["gosop".to_string()], true),
        ("RNP (rnp)", vec![front_end("rnp-sop")], false),
        ("PGPy", vec![front_end("pgpy-sop")], false),
        ("OpenPGP.js", vec!["node".to_string(), front_end("openpgpjs/sop.mjs")], true),
    ];
    all.into_iter()
        .map(|(name, command, reads_hidden_recipients)| Implementation { name, command, reads_hidden_recipients })
        .collect()
}

impl Implementation {
    fn run(&self, args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
        let mut child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot run {:?} ({e}): run scripts/install-deps", self.name, self.command));
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(input);
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("{} {args:?}: {}", self.name, String::from_utf8_lossy(&out.stderr)))
        }
    }

    fn ok(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        self.run(args, input).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A member whose key and software are those of one implementation.
struct Member<'a> {
    software: &'a Implementation,
    address: String,
    key: PathBuf,
    list_cert: PathBuf,
}

impl Member<'_> {
    fn path(&self, name: &str) -> String {
        self.key.with_file_name(name).display().to_string()
    }

    fn decrypt(&self, armored: &str) -> Result<Vec<u8>, String> {
        self.software.run(&["decrypt", &self.path("key")], armored.as_bytes())
    }

    /// Opens a copy of a post: the signed entity, if the list's signature over it is good.
    fn open_post(&self, mail: &Mail) -> Result<String, String> {
        // RFC 3156 §5: a MIME entity is checked in its canonical form, CRLF
        // line ends. gosop's `decrypt` writes LF line ends (GopenPGP's text
        // handling); a mail client puts them back, and so does this.
        let plaintext = listcrypt::mime::text::crlf(&self.decrypt(&mail.armored())?);
        let message = mail_parser::MessageParser::default().parse(&plaintext).ok_or("not MIME")?;
        let kids = message.root_part().sub_parts().ok_or("not multipart/signed")?;
        let signed = &message.parts[kids[0] as usize];
        let entity = &message.raw_message()[signed.offset_header as usize..signed.offset_end as usize];
        let signature = self.path("list.sig");
        fs::write(&signature, message.parts[kids[1] as usize].contents()).unwrap();
        self.software.run(&["verify", &signature, &self.list_cert.display().to_string()], entity)?;
        Ok(String::from_utf8_lossy(entity).into_owned())
    }

    /// Thunderbird's form: protected headers and text, signed and encrypted at once.
    fn combined_post(&self, subject: &str) -> Vec<u8> {
        let entity = format!(
            "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nFrom: <{}>\r\nTo: {LIST}\r\nSubject: {subject}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{TEXT}\r\n",
            self.address
        );
        let sign_with = format!("--sign-with={}", self.path("key"));
        let armored =
            self.software.ok(&["encrypt", &sign_with, &self.list_cert.display().to_string()], entity.as_bytes());
        client::encrypted(&client::headers(&self.address, LIST, subject), &String::from_utf8(armored).unwrap())
    }

    /// Mutt's form: a `multipart/signed` entity, then encrypted as a layer of its own.
    fn signed_then_encrypted_post(&self, subject: &str) -> Vec<u8> {
        let entity = client::text_entity(TEXT);
        let signature = String::from_utf8(self.software.ok(&["sign", &self.path("key")], entity.as_bytes())).unwrap();
        let signed = format!(
            "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n--sig\r\n{entity}\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n{signature}\r\n--sig--\r\n"
        );
        let armored = self.software.ok(&["encrypt", &self.list_cert.display().to_string()], signed.as_bytes());
        client::encrypted(&client::headers(&self.address, LIST, subject), &String::from_utf8(armored).unwrap())
    }
}

/// The list (GnuPG members alice, bob and carol), plus one member per
/// implementation, each with its own default key, verified by answering the
/// challenge with that implementation.
fn join_every_implementation<'a>(s: &Scene, software: &'a [Implementation]) -> Vec<Member<'a>> {
    let list_cert = s.w.dir.path().join("list.asc");
    fs::write(&list_cert, s.w.ok(&["list", "export-key", LIST])).unwrap();
    software
        .iter()
        .enumerate()
        .map(|(i, software)| {
            let address = format!("member{i}@example.org");
            let dir = s.w.dir.path().join(format!("sop{i}"));
            fs::create_dir_all(&dir).unwrap();
            let key = software.ok(&["generate-key", &format!("Member {i} <{address}>")], b"");
            fs::write(dir.join("key"), &key).unwrap();
            fs::write(dir.join("cert"), software.ok(&["extract-cert"], &key)).unwrap();
            let cert = dir.join("cert").display().to_string();
            let added = s.w.run(&["members", "add", LIST, &address, "--key-file", &cert]);
            assert!(added.status.success(), "{}'s default key is refused: {}", software.name, stderr(&added));
            let member = Member { software, address, key: dir.join("key"), list_cert: list_cert.clone() };
            let challenge = s.w.mails_to(&member.address).pop().expect("a challenge");
            let opened = member.decrypt(&challenge.armored()).unwrap_or_else(|e| panic!("the challenge: {e}"));
            let token = token_in(&String::from_utf8_lossy(&opened));
            s.w.ok(&["keys", "verify", LIST, &member.address, &token]);
            member
        })
        .collect()
}

#[test]
fn every_implementation_opens_its_copy_and_checks_the_list_signature() {
    let s = Scene::new();
    let software = implementations();
    let members = join_every_implementation(&s, &software);
    s.w.clear_outbox();
    let out = s.deliver(&client::post(&s.alice, &s.list_key, "for everyone", TEXT));
    assert!(out.status.success(), "{}", stderr(&out));
    for member in &members {
        let copies = s.w.mails_to(&member.address);
        assert_eq!(copies.len(), 1, "{} gets one copy", member.software.name);
        let entity = member
            .open_post(&copies[0])
            .unwrap_or_else(|e| panic!("{} cannot read its copy: {e}", member.software.name));
        assert!(entity.contains(TEXT), "{}: the post's text", member.software.name);
        assert!(entity.contains("alice@example.org"), "{}: the protected From", member.software.name);
    }

    // The operator option: copies with the wildcard key ID. Those that cannot
    // read them are the ones the setting's help names.
    s.w.ok(&["list", "set", LIST, "hidden_recipients", "true"]);
    s.w.clear_outbox();
    assert!(s.deliver(&client::post(&s.alice, &s.list_key, "hidden", TEXT)).status.success());
    for member in &members {
        let copy = s.w.mails_to(&member.address).pop().expect("a copy");
        let opened = member.open_post(&copy);
        assert_eq!(
            opened.is_ok(),
            member.software.reads_hidden_recipients,
            "{} with hidden recipients: {opened:?}",
            member.software.name
        );
    }
}

#[test]
fn every_implementation_posts_in_both_rfc3156_forms() {
    let s = Scene::new();
    let software = implementations();
    let members = join_every_implementation(&s, &software);
    for member in &members {
        for (form, mail) in [
            ("signed and encrypted at once", member.combined_post("combined")),
            ("signed, then encrypted", member.signed_then_encrypted_post("layered")),
        ] {
            s.w.clear_outbox();
            let out = s.deliver(&mail);
            assert!(out.status.success(), "{} ({form}): {}", member.software.name, stderr(&out));
            let copies = s.posts_to(&s.bob);
            assert_eq!(copies.len(), 1, "{} ({form}) is not distributed: {}", member.software.name, s.log());
            let copy = s.bob.open_post(&copies[0]).expect("bob opens the copy");
            assert!(copy.text.contains(TEXT), "{} ({form})", member.software.name);
            assert_eq!(copy.signer.as_deref(), Some(s.list_key.as_str()), "list-signed");
            let from = copies[0].header("From").unwrap_or_default();
            assert!(from.contains(&member.address), "{} ({form}): From {from}", member.software.name);
        }
    }
}

#[test]
fn a_v6_key_gets_a_clear_answer_on_the_command_line_and_by_mail() {
    let s = Scene::new();
    let js = implementations().into_iter().find(|i| i.name == "OpenPGP.js").unwrap();
    let key = js.ok(&["generate-key", "--profile=rfc9580", "New <new@example.org>"], b"");
    let cert = js.ok(&["extract-cert"], &key);
    let file = s.w.dir.path().join("v6.asc");
    fs::write(&file, &cert).unwrap();
    let out = s.w.run(&["members", "add", LIST, "new@example.org", "--key-file", file.to_str().unwrap()]);
    assert_eq!(code(&out), 65, "a data error");
    let said = stderr(&out);
    assert!(said.contains("v6 key (RFC 9580)") && said.contains("Send a v4 key"), "{said}");

    let pasted = String::from_utf8(cert).unwrap().replace('\n', "\r\n");
    assert!(to_request(&s, &command_mail(&s, &s.bob, &format!("add-key\r\n\r\n{pasted}"))).status.success());
    let answer = answers(&s, &s.bob).pop().expect("add-key is answered");
    assert!(answer.contains("add-key: the key is an OpenPGP v6 key (RFC 9580)"), "{answer}");
}
