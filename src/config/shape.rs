//! Reading the TOML into the file's shape ([`FileConfig`]) with every shape error
//! found in one run: an unknown key or a value of the wrong type is reported, taken
//! out of the document, and the document read again, so a second typo further down
//! is reported too. A TOML syntax error stops reading (what follows it cannot be
//! trusted), and so does an error about a whole table (a `[[root]]` without
//! `name`): taking the table out would turn every later mention of it into an error.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::file::FileConfig;
use super::validate::line_of;
use super::{ConfigError, Path};

/// Shape errors reported before giving up on a file.
const MAX_ERRORS: usize = 50;

/// The file's shape, if it could be read, and every shape error found.
pub(super) fn read(text: &str, path: &Path) -> (Option<FileConfig>, Vec<ConfigError>) {
    let error = |e: &toml::de::Error| ConfigError {
        file: path.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    };
    let mut doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => return (None, vec![error(&e)]),
    };
    let mut errors = Vec::new();
    loop {
        match FileConfig::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(f) => return (Some(f), errors),
            Err(e) => {
                let mut err = error(&e);
                let taken_out = e.span().and_then(|s| take_out(doc.get_mut(), s.start));
                // serde's "invalid type: integer `5`, expected a string" names no key.
                if let Some(key) = &taken_out
                    && !err.message.contains(&format!("`{key}`"))
                {
                    err.message = format!("{key}: {}", err.message);
                }
                errors.push(err);
                if taken_out.is_none() || errors.len() >= MAX_ERRORS {
                    return (None, errors);
                }
            }
        }
    }
}

/// Removes the `key = value` pair whose key, or whose value (a string, a number, an
/// array of them), holds `offset`, in `table` or any table below it, and gives its
/// key. `None` when no pair does: the error is about a whole table.
fn take_out(table: &mut DeTable<'_>, offset: usize) -> Option<String> {
    let within = |r: Range<usize>| r.contains(&offset);
    let at_fault = table
        .iter()
        .find(|(k, v)| within(k.span()) || (!holds_tables(v) && within(v.span())))
        .map(|(k, _)| k.clone());
    if let Some(key) = at_fault {
        table.remove(&key);
        return Some(key.into_inner().into_owned());
    }
    table.iter_mut().find_map(|(_, v)| match v.get_mut() {
        DeValue::Table(inner) => take_out(inner, offset),
        DeValue::Array(items) => items.iter_mut().find_map(|item| match item.get_mut() {
            DeValue::Table(inner) => take_out(inner, offset),
            _ => None,
        }),
        _ => None,
    })
}

/// A table, or an array with a table in it (`[[root]]`): errors inside are about
/// its own pairs.
fn holds_tables(v: &Spanned<DeValue<'_>>) -> bool {
    match v.get_ref() {
        DeValue::Table(_) => true,
        DeValue::Array(items) => items
            .iter()
            .any(|i| matches!(i.get_ref(), DeValue::Table(_))),
        _ => false,
    }
}
