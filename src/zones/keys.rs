//! The signing keys of a `zones` root (issue 15 §3b): a KSK and a ZSK in the
//! `keys/` folder of its zones folder, made by `altroot keygen` and read at every
//! load of the zone set.
//!
//! Each key is two files:
//!
//! - `ksk.pem` / `zsk.pem`: the private key, PKCS#8 in PEM (`BEGIN PRIVATE KEY`,
//!   as `openssl pkey` reads it), mode 0600;
//! - `ksk.dnskey` / `zsk.dnskey`: its DNSKEY record in master-file form, owned by
//!   the root (`. 3600 IN DNSKEY 257 3 13 …`), with the key tag and algorithm in
//!   a comment. This is the metadata: flags (257 KSK, 256 ZSK) and algorithm,
//!   which the PKCS#8 form of an ECDSA key does not say on its own; the public key
//!   in it must be the private key's.
//!
//! The same two keys sign every zone of the root (each zone's DNSKEY RRset holds
//! both), so one DS per top zone is all a validator needs.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hickory_proto::dnssec::crypto::{EcdsaSigningKey, Ed25519SigningKey};
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKey, PublicKeyBuf, SigningKey};
use hickory_proto::rr::Name;
use rustls_pki_types::PrivatePkcs8KeyDer;

use super::problem::Problem;

/// The folder in a zones folder that holds its keys.
pub const KEYS_DIR: &str = "keys";
/// TTL of the DNSKEY RRset and of the DS records altroot makes.
pub const KEY_TTL: u32 = 3600;

/// Which key: the KSK signs the DNSKEY RRset, the ZSK everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Ksk,
    Zsk,
}

impl Role {
    pub fn file_stem(self) -> &'static str {
        match self {
            Role::Ksk => "ksk",
            Role::Zsk => "zsk",
        }
    }

    /// DNSKEY flags: ZONE, and SEP for the KSK (RFC 4034 §2.1.1).
    pub fn flags(self) -> u16 {
        match self {
            Role::Ksk => 257,
            Role::Zsk => 256,
        }
    }
}

/// The algorithms `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    EcdsaP256,
    Ed25519,
}

impl KeyAlgorithm {
    pub fn dnssec(self) -> Algorithm {
        match self {
            KeyAlgorithm::EcdsaP256 => Algorithm::ECDSAP256SHA256,
            KeyAlgorithm::Ed25519 => Algorithm::ED25519,
        }
    }
}

/// One key, ready to sign.
pub struct ZoneKey {
    pub role: Role,
    pub dnskey: DNSKEY,
    pub tag: u16,
    pub algorithm: Algorithm,
    signer: Box<dyn SigningKey>,
}

impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ZoneKey({:?}, tag {}, {})",
            self.role, self.tag, self.algorithm
        )
    }
}

impl ZoneKey {
    /// Signs the to-be-signed bytes (RFC 4034 §3.1.8.1).
    pub fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        let tbs = hickory_proto::dnssec::TBS::from(tbs);
        self.signer.sign(&tbs).map_err(|e| e.to_string())
    }

    /// The DS of this key for a zone `owner` (SHA-256).
    pub fn ds(&self, owner: &Name) -> Result<DS, String> {
        let digest = self
            .dnskey
            .to_digest(owner, DigestType::SHA256)
            .map_err(|e| e.to_string())?;
        Ok(DS::new(
            self.tag,
            self.algorithm,
            DigestType::SHA256,
            digest.as_ref().to_vec(),
        ))
    }

    fn from_pkcs8(role: Role, der: &[u8], algorithm: Algorithm) -> Result<ZoneKey, String> {
        let der = PrivatePkcs8KeyDer::from(der.to_vec());
        let signer: Box<dyn SigningKey> = match algorithm {
            Algorithm::ECDSAP256SHA256 | Algorithm::ECDSAP384SHA384 => {
                Box::new(EcdsaSigningKey::from_pkcs8(&der, algorithm).map_err(|e| e.to_string())?)
            }
            Algorithm::ED25519 => {
                Box::new(Ed25519SigningKey::from_pkcs8(&der).map_err(|e| e.to_string())?)
            }
            a => return Err(format!("altroot does not sign with {a}")),
        };
        let public = signer.to_public_key().map_err(|e| e.to_string())?;
        let dnskey = DNSKEY::with_flags(role.flags(), public);
        let tag = dnskey.calculate_key_tag().map_err(|e| e.to_string())?;
        Ok(ZoneKey {
            role,
            dnskey,
            tag,
            algorithm,
            signer,
        })
    }
}

/// A root's KSK and ZSK, and the files they were read from.
#[derive(Debug)]
pub struct SigningKeys {
    pub ksk: ZoneKey,
    pub zsk: ZoneKey,
    pub files: Vec<PathBuf>,
}

impl SigningKeys {
    /// What the keys are, for telling a new key set from the one a zone was
    /// signed with.
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for k in [&self.ksk, &self.zsk] {
            out.extend_from_slice(&k.tag.to_be_bytes());
            out.extend_from_slice(k.dnskey.public_key().public_bytes());
        }
        out
    }
}

fn key_paths(keys_dir: &Path, role: Role) -> (PathBuf, PathBuf) {
    let stem = role.file_stem();
    (
        keys_dir.join(format!("{stem}.pem")),
        keys_dir.join(format!("{stem}.dnskey")),
    )
}

//------------ Reading ----------------------------------------------------------

/// Reads the keys of the zones folder `dir`: `None` when it has no `keys/`
/// folder (its zones are served as they are); every problem with the keys, at
/// its file and line, otherwise.
pub fn read(dir: &Path) -> Result<Option<SigningKeys>, Vec<Problem>> {
    let keys_dir = dir.join(KEYS_DIR);
    if !keys_dir.exists() {
        return Ok(None);
    }
    if !keys_dir.is_dir() {
        let msg = "keys must be a folder (of ksk.pem, ksk.dnskey, zsk.pem, zsk.dnskey)";
        return Err(vec![Problem::error(&keys_dir, 1, msg)]);
    }
    let mut problems = Vec::new();
    let ksk = read_key(&keys_dir, Role::Ksk, &mut problems);
    let zsk = read_key(&keys_dir, Role::Zsk, &mut problems);
    match (ksk, zsk) {
        (Some(ksk), Some(zsk)) if problems.is_empty() => {
            let mut files = Vec::new();
            for r in [Role::Ksk, Role::Zsk] {
                let (a, b) = key_paths(&keys_dir, r);
                files.extend([a, b]);
            }
            Ok(Some(SigningKeys { ksk, zsk, files }))
        }
        _ => Err(problems),
    }
}

fn read_key(keys_dir: &Path, role: Role, problems: &mut Vec<Problem>) -> Option<ZoneKey> {
    let (pem_path, meta_path) = key_paths(keys_dir, role);
    let name = role.file_stem().to_uppercase();
    let missing = |p: &Path, e: std::io::Error| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "the {name} is missing: a keys folder needs both a KSK and a ZSK \
                 (altroot keygen --root NAME makes them; remove the keys folder to serve unsigned)"
            ),
            _ => format!("cannot read the {name}: {e}"),
        };
        Problem::error(p, 1, hint)
    };
    let meta = match std::fs::read_to_string(&meta_path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(missing(&meta_path, e));
            return None;
        }
    };
    let (line, flags, algorithm, public) = match parse_dnskey_line(&meta) {
        Ok(x) => x,
        Err((line, msg)) => {
            problems.push(Problem::error(&meta_path, line, msg));
            return None;
        }
    };
    if flags != role.flags() {
        let msg = format!("a {name} has DNSKEY flags {}, not {flags}", role.flags());
        problems.push(Problem::error(&meta_path, line, msg));
        return None;
    }
    let pem = match std::fs::read_to_string(&pem_path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(missing(&pem_path, e));
            return None;
        }
    };
    let der = match pem_decode(&pem) {
        Ok(d) => d,
        Err((line, msg)) => {
            problems.push(Problem::error(&pem_path, line, msg));
            return None;
        }
    };
    let key = match ZoneKey::from_pkcs8(role, &der, algorithm) {
        Ok(k) => k,
        Err(e) => {
            let msg = format!("not a {algorithm} private key in PKCS#8: {e}");
            problems.push(Problem::error(&pem_path, 1, msg));
            return None;
        }
    };
    if key.dnskey.public_key().public_bytes() != public.as_slice() {
        let msg = format!(
            "the public key here is not the one of {} (the files belong to different keys)",
            pem_path.display()
        );
        problems.push(Problem::error(&meta_path, line, msg));
        return None;
    }
    Some(key)
}

/// The first DNSKEY line of a `.dnskey` file: its line, flags, algorithm and
/// public key.
/// A `.dnskey` file's DNSKEY: its line, flags, algorithm, public key.
type KeyLine = (usize, u16, Algorithm, Vec<u8>);

fn parse_dnskey_line(text: &str) -> Result<KeyLine, (usize, String)> {
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let data = raw.split(';').next().unwrap_or("").trim();
        if data.is_empty() {
            continue;
        }
        let words: Vec<&str> = data.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("DNSKEY")) else {
            return Err((
                line,
                "want a DNSKEY record: OWNER TTL IN DNSKEY FLAGS 3 ALGORITHM KEY".into(),
            ));
        };
        let rest = &words[at + 1..];
        if rest.len() < 4 {
            return Err((
                line,
                "a DNSKEY needs flags, protocol, algorithm and key".into(),
            ));
        }
        let flags: u16 = rest[0]
            .parse()
            .map_err(|_| (line, format!("{:?} is not DNSKEY flags", rest[0])))?;
        let alg: u8 = rest[2]
            .parse()
            .map_err(|_| (line, format!("{:?} is not an algorithm number", rest[2])))?;
        let algorithm = Algorithm::from_u8(alg);
        if !matches!(
            algorithm,
            Algorithm::ECDSAP256SHA256 | Algorithm::ECDSAP384SHA384 | Algorithm::ED25519
        ) {
            return Err((
                line,
                format!("altroot signs with algorithms 13, 14 and 15, not {alg}"),
            ));
        }
        let b64: String = rest[3..].concat();
        let public = data_encoding::BASE64
            .decode(b64.as_bytes())
            .map_err(|e| (line, format!("the public key is not base64: {e}")))?;
        return Ok((line, flags, algorithm, public));
    }
    Err((1, "no DNSKEY record in the file".into()))
}

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

fn pem_encode(der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = format!("{PEM_BEGIN}\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

fn pem_decode(text: &str) -> Result<Vec<u8>, (usize, String)> {
    let mut inside = None;
    let mut b64 = String::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l == PEM_BEGIN {
            inside = Some(i + 1);
            continue;
        }
        if l == PEM_END {
            let begin = inside.unwrap_or(i + 1);
            return data_encoding::BASE64
                .decode(b64.as_bytes())
                .map_err(|e| (begin, format!("the key is not base64: {e}")));
        }
        if inside.is_some() {
            b64.push_str(l);
        }
    }
    Err((
        1,
        format!("want a PKCS#8 key between {PEM_BEGIN} and {PEM_END}"),
    ))
}

//------------ Writing ----------------------------------------------------------

/// What `keygen` wrote.
pub struct Generated {
    pub files: Vec<PathBuf>,
    pub ksk_tag: u16,
    pub zsk_tag: u16,
}

/// Makes a KSK and a ZSK in `<dir>/keys/`. Existing key files are an error
/// unless `force` (then they are replaced; each file is written to a temporary
/// name and renamed, so a reader sees the old file or the new one).
pub fn generate(dir: &Path, algorithm: KeyAlgorithm, force: bool) -> Result<Generated, String> {
    let keys_dir = dir.join(KEYS_DIR);
    if !dir.is_dir() {
        return Err(format!(
            "{}: the zones folder does not exist",
            dir.display()
        ));
    }
    if !force {
        for r in [Role::Ksk, Role::Zsk] {
            let (a, b) = key_paths(&keys_dir, r);
            if let Some(p) = [a, b].into_iter().find(|p| p.exists()) {
                return Err(format!(
                    "{}: keys exist already; --force replaces them (then every validator needs the new DS)",
                    p.display()
                ));
            }
        }
    }
    create_keys_dir(&keys_dir)?;
    let mut files = Vec::new();
    let mut tags = [0u16; 2];
    for (i, role) in [Role::Ksk, Role::Zsk].into_iter().enumerate() {
        let der = match algorithm {
            KeyAlgorithm::EcdsaP256 => EcdsaSigningKey::generate_pkcs8(algorithm.dnssec()),
            KeyAlgorithm::Ed25519 => Ed25519SigningKey::generate_pkcs8(),
        }
        .map_err(|e| format!("cannot make a key: {e}"))?;
        let key = ZoneKey::from_pkcs8(role, der.secret_pkcs8_der(), algorithm.dnssec())?;
        tags[i] = key.tag;
        let (pem_path, meta_path) = key_paths(&keys_dir, role);
        write_file(
            &pem_path,
            pem_encode(der.secret_pkcs8_der()).as_bytes(),
            0o600,
        )?;
        write_file(&meta_path, dnskey_file(&key).as_bytes(), 0o644)?;
        files.extend([pem_path, meta_path]);
    }
    Ok(Generated {
        files,
        ksk_tag: tags[0],
        zsk_tag: tags[1],
    })
}

fn create_keys_dir(keys_dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if keys_dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(keys_dir)
        .map_err(|e| format!("{}: cannot create the keys folder: {e}", keys_dir.display()))
}

/// Writes `bytes` to `path` with `mode`, through a temporary file renamed over it.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let err = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// A key's `.dnskey` file: the DNSKEY owned by the root, with what it is.
fn dnskey_file(key: &ZoneKey) -> String {
    format!(
        "; altroot {}: key tag {}, algorithm {} ({}); the private key is in {}.pem\n{}\n",
        key.role.file_stem().to_uppercase(),
        key.tag,
        u8::from(key.algorithm),
        key.algorithm,
        key.role.file_stem(),
        dnskey_line(&Name::root(), key)
    )
}

/// `OWNER TTL IN DNSKEY FLAGS 3 ALG KEY`.
pub fn dnskey_line(owner: &Name, key: &ZoneKey) -> String {
    format!(
        "{owner} {KEY_TTL} IN DNSKEY {} 3 {} {}",
        key.dnskey.flags(),
        u8::from(key.algorithm),
        data_encoding::BASE64.encode(key.dnskey.public_key().public_bytes())
    )
}

/// `OWNER TTL IN DS TAG ALG 2 DIGEST` for the KSK of `owner`.
pub fn ds_line(owner: &Name, key: &ZoneKey) -> Result<String, String> {
    let ds = key.ds(owner)?;
    Ok(format!(
        "{owner} {KEY_TTL} IN DS {} {} 2 {}",
        ds.key_tag(),
        u8::from(ds.algorithm()),
        data_encoding::HEXUPPER.encode(ds.digest())
    ))
}

/// The public key bytes (for tests).
pub fn public_key(key: &ZoneKey) -> PublicKeyBuf {
    key.dnskey.public_key().clone()
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
