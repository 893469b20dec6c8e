#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;

// golang.org/x/mod/sumdb/note note_test.go: keys, text and signatures.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// Computed independently with Python's `cryptography` (pyca): seed 00 01 .. 1f, name
// "sealog", checkpoint sealog/acme, size 1234567, root SHA-256("root").
const SEALOG_SEED: [u8; 32] = {
    let mut s = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        s[i] = i as u8;
        i += 1;
    }
    s
};
const SEALOG_VKEY: &str = "sealog+7658c04f+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const SEALOG_SKEY: &str =
    "PRIVATE+KEY+sealog+7658c04f+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
const SEALOG_ROOT_HEX: &str = "4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2";
const SEALOG_NOTE: &str = "sealog/acme\n1234567\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n\n\u{2014} sealog dljAT2GxT9frW+JemkGQ+4vUCwRS4I1LhJD+qZd75s0VrdOMqK35YcCdji+FEsp/qTL5suGxDmoFZNXLesPRSkh29wA=\n";

fn peter_note() -> String {
    format!("{PETER_TEXT}\n{PETER_SIG}")
}

fn sealog_checkpoint() -> Checkpoint {
    let mut root = [0u8; 32];
    hex::decode_to_slice(SEALOG_ROOT_HEX, &mut root).unwrap();
    Checkpoint::new("sealog/acme", 1234567, root).unwrap()
}

fn sealog_key() -> SigningKey {
    SigningKey::from_seed("sealog", &SEALOG_SEED).unwrap()
}

#[test]
fn go_vector_signs_byte_for_byte_and_round_trips_its_keys() {
    let key = SigningKey::parse_private_key(PETER_SKEY).unwrap();
    assert_eq!(key.name(), "PeterNeumann");
    assert_eq!(hex::encode(key.key_id()), "c74f20a3");
    assert_eq!(key.to_private_key_string(), PETER_SKEY);
    assert_eq!(key.verifier().to_string(), PETER_VKEY);
    assert_eq!(key.verifier(), VerifierKey::parse(PETER_VKEY).unwrap());
    assert_eq!(key.sign_text(PETER_TEXT), peter_note());
}

#[test]
fn go_vector_opens_with_either_signer_and_rejects_a_changed_text() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let enoch: VerifierKey = ENOCH_VKEY.parse().unwrap();
    assert_eq!(open_note(&peter_note(), &peter).unwrap(), PETER_TEXT);
    let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(open_note(&both, &peter).unwrap(), PETER_TEXT);
    assert_eq!(open_note(&both, &enoch).unwrap(), PETER_TEXT);
    let changed = peter_note().replace("cryptography", "cryptographY");
    assert!(matches!(
        open_note(&changed, &peter),
        Err(NoteError::SignatureInvalid { .. })
    ));
    // A signature garbled in the middle, as Go's TestOpen does.
    let garbled = format!("{PETER_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        open_note(&garbled, &peter),
        Err(NoteError::SignatureInvalid { .. })
    ));
}

#[test]
fn go_vector_key_manglings_are_refused() {
    for (text, parse) in [
        (
            PETER_VKEY,
            (|s: &str| VerifierKey::parse(s).is_ok()) as fn(&str) -> bool,
        ),
        (PETER_SKEY, |s: &str| {
            SigningKey::parse_private_key(s).is_ok()
        }),
    ] {
        let b = text.as_bytes();
        for i in 0..b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let s = &text[i..j];
                    assert!(!parse(s), "accepted substring {s:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            assert!(!parse(&s), "accepted mangled {s:?}");
        }
    }
    // Wrong key length and unknown algorithm, each with a matching key id.
    let long = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
    assert!(VerifierKey::parse(long).is_err());
    let alg = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert!(matches!(
        VerifierKey::parse(alg),
        Err(NoteError::UnsupportedKeyType { alg: 0x65 })
    ));
}

#[test]
fn independent_sealog_vector_signs_and_opens() {
    let key = sealog_key();
    assert_eq!(key.verifier().to_string(), SEALOG_VKEY);
    assert_eq!(key.to_private_key_string(), SEALOG_SKEY);
    let checkpoint = sealog_checkpoint();
    assert_eq!(key.sign(&checkpoint), SEALOG_NOTE);
    let vkey = VerifierKey::parse(SEALOG_VKEY).unwrap();
    assert_eq!(open_checkpoint(SEALOG_NOTE, &vkey).unwrap(), checkpoint);
    let upper = SEALOG_VKEY.replace("7658c04f", "7658C04F");
    assert_eq!(VerifierKey::parse(&upper).unwrap(), vkey);
}

#[test]
fn generated_key_round_trips_through_sign_and_open() {
    let key = SigningKey::generate("log.example/sealog").unwrap();
    let again = SigningKey::parse_private_key(&key.to_private_key_string()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    let vkey = VerifierKey::parse(&key.verifier().to_string()).unwrap();
    for size in [0, 1, u64::MAX] {
        let checkpoint = Checkpoint::new("sealog/t-1", size, [7; 32]).unwrap();
        assert_eq!(
            open_checkpoint(&key.sign(&checkpoint), &vkey).unwrap(),
            checkpoint
        );
    }
}

#[test]
fn tampered_body_fails_to_verify() {
    let key = sealog_key();
    let signature = &SEALOG_NOTE[SEALOG_NOTE.find("\n\n").unwrap() + 1..];
    let root = sealog_checkpoint().root();
    let mut other_root = root;
    other_root[31] ^= 1;
    for forged in [
        Checkpoint::new("sealog/acmf", 1234567, root).unwrap(),
        Checkpoint::new("sealog/acme", 1234566, root).unwrap(),
        Checkpoint::new("sealog/acme", 1234567, other_root).unwrap(),
    ] {
        let note = format!("{}{signature}", forged.body());
        let err = open_checkpoint(&note, &key.verifier()).unwrap_err();
        assert!(matches!(err, NoteError::SignatureInvalid { .. }), "{err}");
    }
    let extension = SEALOG_NOTE.replacen("=\n\n", "=\nextra\n\n", 1);
    assert!(matches!(
        open_checkpoint(&extension, &key.verifier()),
        Err(NoteError::SignatureInvalid { .. })
    ));
}

/// `SEALOG_NOTE` with its signature payload (key id ‖ signature) edited by `edit`.
fn with_payload(edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (text, line) = SEALOG_NOTE.rsplit_once(' ').unwrap();
    let mut payload = BASE64.decode(line.trim_end()).unwrap();
    edit(&mut payload);
    format!("{text} {}\n", BASE64.encode(payload))
}

#[test]
fn tampered_signature_key_id_or_name_is_rejected() {
    let vkey = VerifierKey::parse(SEALOG_VKEY).unwrap();
    let flipped = with_payload(|p| p[10] ^= 0x40);
    assert!(matches!(
        open_checkpoint(&flipped, &vkey),
        Err(NoteError::SignatureInvalid { .. })
    ));
    // Another key id or name is another key's signature: ignored, so none is left.
    let other_id = with_payload(|p| p[0] ^= 1);
    let other_name = SEALOG_NOTE.replace("\u{2014} sealog ", "\u{2014} sealog2 ");
    for note in [other_id, other_name] {
        let err = open_checkpoint(&note, &vkey).unwrap_err();
        assert_eq!(
            err.to_string(),
            "note has no signature line by key sealog+7658c04f"
        );
    }
    let wrong_key = SigningKey::generate("sealog").unwrap().verifier();
    assert!(matches!(
        open_checkpoint(SEALOG_NOTE, &wrong_key),
        Err(NoteError::NoSignatureByKey { .. })
    ));
}

#[test]
fn other_signatures_are_ignored_but_a_bad_one_by_the_key_rejects() {
    let vkey = VerifierKey::parse(SEALOG_VKEY).unwrap();
    let sig = &SEALOG_NOTE[SEALOG_NOTE.find("\n\n").unwrap() + 2..];
    let body = sealog_checkpoint().body();
    // Same name, different key id: a rotated key's signature.
    let rotated = with_payload(|p| p[0] ^= 1);
    let rotated = &rotated[rotated.find("\n\n").unwrap() + 2..];
    let note = format!("{body}\n{PETER_SIG}{rotated}{sig}{ENOCH_SIG}");
    assert_eq!(open_checkpoint(&note, &vkey).unwrap(), sealog_checkpoint());
    let bad = with_payload(|p| p[20] ^= 1);
    let bad = &bad[bad.find("\n\n").unwrap() + 2..];
    let note = format!("{body}\n{sig}{bad}");
    assert!(matches!(
        open_checkpoint(&note, &vkey),
        Err(NoteError::SignatureInvalid { .. })
    ));
}

#[test]
fn malformed_notes_are_rejected_with_the_reason() {
    let vkey = VerifierKey::parse(PETER_VKEY).unwrap();
    let sig_body = &PETER_SIG["\u{2014} PeterNeumann ".len()..];
    let huge = format!("{}{}", "x".repeat(NOTE_BYTES_MAX), peter_note());
    let huge_error = format!("note is {} bytes; at most 1048576 are accepted", huge.len());
    let cases: Vec<(String, &str)> = vec![
        (PETER_TEXT.to_owned(), "note has no blank line"),
        (
            format!("{PETER_TEXT}\n"),
            "note has no signature line after",
        ),
        (
            format!("{PETER_TEXT}\n{}", PETER_SIG.trim_end()),
            "note does not end with a newline",
        ),
        (
            format!("\u{1}{}", peter_note()),
            "note has control character U+0001 at byte 0",
        ),
        (
            format!("{}Unexpected line.\n", peter_note()),
            "signature line 2 is malformed: it does not start with an em dash",
        ),
        (
            format!("{PETER_TEXT}\n\u{2014} Bad Name {sig_body}"),
            "signature line 1 is malformed: its signature is not canonical",
        ),
        (
            format!("{PETER_TEXT}\n\u{2014} a+b {sig_body}"),
            "signature line 1 is malformed: the key name contains '+'",
        ),
        (
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann AAAAAA==\n"),
            "signature line 1 is malformed: its signature is shorter",
        ),
        (
            format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(SIGNATURES_MAX + 1)),
            "note has more than 100 signature lines",
        ),
        (huge.clone(), &huge_error),
    ];
    for (note, want) in cases {
        let err = open_note(&note, &vkey).unwrap_err().to_string();
        assert!(err.starts_with(want), "got {err:?}, want {want:?}");
    }
    let many = format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(SIGNATURES_MAX));
    assert_eq!(open_note(&many, &vkey).unwrap(), PETER_TEXT);
}

#[test]
fn checkpoint_bodies_parse_strictly_and_ignore_extension_lines() {
    let root = "SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=";
    let ok = format!("sealog/acme\n1234567\n{root}\n");
    assert_eq!(Checkpoint::parse_body(&ok).unwrap(), sealog_checkpoint());
    let ext = format!("{ok}ext one\next two\n");
    assert_eq!(Checkpoint::parse_body(&ext).unwrap(), sealog_checkpoint());
    let zero = format!("o\n0\n{root}\n");
    assert_eq!(Checkpoint::parse_body(&zero).unwrap().size(), 0);
    let bad_root = "SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7J="; // trailing bits
    let cases = [
        (
            format!("sealog/acme\n1234567\n{root}"),
            "checkpoint body does not end",
        ),
        (
            "sealog/acme\n1234567\n".to_owned(),
            "checkpoint body has 2 line(s)",
        ),
        (
            format!("\n1\n{root}\n"),
            "checkpoint origin is invalid: it is empty",
        ),
        (
            format!("o\n01\n{root}\n"),
            "tree size line \"01\" is not a decimal",
        ),
        (
            format!("o\n+1\n{root}\n"),
            "tree size line \"+1\" is not a decimal",
        ),
        (
            format!("o\n\n{root}\n"),
            "tree size line \"\" is not a decimal",
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            "tree size line \"18446744073709551616\" is larger than 2^64 - 1",
        ),
        (format!("o\n1\n{bad_root}\n"), "root hash line"),
        (format!("o\n1\n{}\n", &root[..43]), "root hash line"),
        (format!("o\n1\nAAAA{root}\n"), "root hash line"),
        (
            format!("{ok}ext\n\n"),
            "checkpoint line 5 (an extension line) is empty",
        ),
        (
            format!("o\r\n1\n{root}\n"),
            "checkpoint body has control character U+000D",
        ),
    ];
    for (body, want) in cases {
        let err = Checkpoint::parse_body(&body).unwrap_err().to_string();
        assert!(err.starts_with(want), "got {err:?}, want {want:?}");
    }
}

#[test]
fn origins_and_key_names_are_validated() {
    for origin in ["", "a\nb", "a\tb"] {
        assert!(Checkpoint::new(origin, 1, [0; 32]).is_err(), "{origin:?}");
    }
    for name in [
        "",
        "a b",
        "a+b",
        "a\u{a0}b",
        "a\u{2003}b",
        "a\u{7f}b",
        "\u{85}",
    ] {
        let err = SigningKey::generate(name).unwrap_err();
        assert!(matches!(err, NoteError::InvalidKeyName { .. }), "{name:?}");
    }
    assert!(SigningKey::generate("sealog.example/log-1").is_ok());
}

#[test]
fn debug_does_not_print_the_secret() {
    let key = sealog_key();
    let debug = format!("{key:?}");
    assert_eq!(
        debug,
        "SigningKey { name: \"sealog\", key_id: \"7658c04f\", .. }"
    );
    let err = SigningKey::parse_private_key(&SEALOG_SKEY.replace("sealog", "other"));
    let err = err.unwrap_err().to_string();
    assert!(!err.contains("AQABAgMEBQYH"), "{err}");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn load_or_create_writes_a_private_key_and_reloads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let key = SigningKey::load_or_create(&dir, "sealog").unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(KEY_FILE_NAME)), 0o600);
    assert_eq!(mode(&dir.join(VKEY_FILE_NAME)), 0o644);
    let vkey = fs::read_to_string(dir.join(VKEY_FILE_NAME)).unwrap();
    assert_eq!(vkey, format!("{}\n", key.verifier()));
    fs::remove_file(dir.join(VKEY_FILE_NAME)).unwrap();
    let again = SigningKey::load_or_create(&dir, "sealog").unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert!(dir.join(VKEY_FILE_NAME).exists());
    let loaded = SigningKey::load(&dir.join(KEY_FILE_NAME), "sealog").unwrap();
    assert_eq!(loaded.to_private_key_string(), key.to_private_key_string());
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn key_files_open_to_others_or_for_another_log_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    SigningKey::load_or_create(dir, "sealog").unwrap();
    let path = dir.join(KEY_FILE_NAME);
    let err = SigningKey::load_or_create(dir, "other").unwrap_err();
    assert!(matches!(err, NoteError::KeyNameMismatch { .. }), "{err}");
    fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
    let err = SigningKey::load_or_create(dir, "sealog").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key file {} is open to group or others (mode 0644); chmod 600 it",
            path.display()
        )
    );
    fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
    fs::write(&path, "PRIVATE+KEY+sealog+00000000+AAAA\n").unwrap();
    let err = SigningKey::load(&path, "sealog").unwrap_err();
    assert!(matches!(err, NoteError::KeyFileInvalid { .. }), "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()));
}

fn note_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9/+=\n \u{2014}]{0,120}",
        "[a-z0-9/+=\n \u{2014}]{0,60}".prop_map(|s| format!("{SEALOG_NOTE}{s}")),
        "[a-z0-9/+=\n]{0,60}".prop_map(|s| format!("sealog/acme\n{s}")),
    ]
}

proptest! {
    #[test]
    fn parsers_never_panic(s in note_like()) {
        let vkey = VerifierKey::parse(SEALOG_VKEY).unwrap();
        let _ = open_checkpoint(&s, &vkey);
        let _ = Checkpoint::parse_body(&s);
        let _ = VerifierKey::parse(&s);
        let _ = SigningKey::parse_private_key(&s);
        let _ = SigningKey::parse_private_key(&format!("PRIVATE+KEY+{s}"));
    }

    #[test]
    fn any_one_character_change_fails_to_open(at in any::<usize>(), c in any::<char>()) {
        let vkey = VerifierKey::parse(SEALOG_VKEY).unwrap();
        let mut chars: Vec<char> = SEALOG_NOTE.chars().collect();
        let at = at % chars.len();
        chars[at] = c;
        let changed: String = chars.into_iter().collect();
        prop_assume!(changed != SEALOG_NOTE);
        prop_assert!(open_checkpoint(&changed, &vkey).is_err());
    }

    #[test]
    fn signed_checkpoints_round_trip(
        origin in "[^\\x00-\\x1f]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
    ) {
        let key = sealog_key();
        let checkpoint = Checkpoint::new(&origin, size, root).unwrap();
        let note = key.sign(&checkpoint);
        prop_assert_eq!(open_checkpoint(&note, &key.verifier()).unwrap(), checkpoint);
    }
}
