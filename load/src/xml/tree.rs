//! RFC 6120 §4.3 negotiation elements (features, SASL, bind replies, stream
//! errors) as a tiny tree, parsed with quick-xml.
//!
//! Negotiation happens once per connection, so it can afford a real parser;
//! the per-message path uses [`super::scan`] instead. Names are local names
//! (prefixes dropped) and namespaces are not resolved: every element the tool
//! looks for is identified by its local name within a known parent.

use anyhow::{Result, anyhow, bail};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One element: local name, raw-key attributes (unescaped values), children and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct El {
    /// Local name (`features`, `mechanism`, `failure`, …).
    pub name: String,
    /// Attributes in document order, `xmlns` declarations included.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<El>,
    /// All character data directly inside, unescaped and concatenated.
    pub text: String,
}

impl El {
    /// Parses one complete element.
    pub fn parse(bytes: &[u8]) -> Result<El> {
        let mut r = Reader::from_reader(bytes);
        let mut stack: Vec<El> = Vec::new();
        loop {
            match r.read_event()? {
                Event::Start(e) => stack.push(open(&e)?),
                Event::Empty(e) => {
                    if let Some(done) = attach(&mut stack, open(&e)?) {
                        return Ok(done);
                    }
                }
                Event::End(_) => {
                    let el = stack.pop().ok_or_else(|| anyhow!("unbalanced end tag"))?;
                    if let Some(done) = attach(&mut stack, el) {
                        return Ok(done);
                    }
                }
                Event::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&t.xml10_content()?);
                    }
                }
                Event::CData(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&t.decode()?);
                    }
                }
                Event::GeneralRef(g) => {
                    let c = match g.resolve_char_ref()? {
                        Some(c) => c,
                        None => predefined(&g).ok_or_else(|| anyhow!("undefined entity"))?,
                    };
                    if let Some(top) = stack.last_mut() {
                        top.text.push(c);
                    }
                }
                Event::Eof => bail!("element ended early"),
                Event::Decl(_) | Event::PI(_) | Event::DocType(_) | Event::Comment(_) => {}
            }
        }
    }

    /// Parses a stream header, an open tag that is never closed here.
    pub fn parse_open_tag(bytes: &[u8]) -> Result<El> {
        match Reader::from_reader(bytes).read_event()? {
            Event::Start(e) | Event::Empty(e) => open(&e),
            other => bail!("expected a start tag, got {other:?}"),
        }
    }

    /// The value of attribute `name` (qualified as written).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first child with local name `name`.
    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child that is not `<text/>`: the defined condition of a SASL
    /// failure, stream error or stanza error (RFC 6120 §4.9.3, §6.5, §8.3.3).
    pub fn condition(&self) -> Option<&str> {
        let holder = self.child("error").unwrap_or(self);
        holder.children.iter().find(|c| c.name != "text").map(|c| c.name.as_str())
    }
}

fn predefined(name: &[u8]) -> Option<char> {
    Some(match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"apos" => '\'',
        b"quot" => '"',
        _ => return None,
    })
}

fn open(e: &BytesStart<'_>) -> Result<El> {
    let mut el = El { name: String::from_utf8(e.local_name().as_ref().to_vec())?, ..El::default() };
    for a in e.attributes() {
        let a = a?;
        let value = a.unescape_value()?.into_owned();
        el.attrs.push((String::from_utf8(a.key.as_ref().to_vec())?, value));
    }
    Ok(el)
}

fn attach(stack: &mut [El], el: El) -> Option<El> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(el);
            None
        }
        None => Some(el),
    }
}

/// Escapes text and attribute values for either quote style.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_parse_into_local_names() {
        let el = El::parse(
            b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
              <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>\
              <mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        )
        .unwrap();
        assert_eq!(el.name, "features");
        assert!(el.child("starttls").unwrap().child("required").is_some());
        let mechs: Vec<_> = el.child("mechanisms").unwrap().children.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(mechs, ["SCRAM-SHA-1", "PLAIN"]);
    }

    #[test]
    fn text_is_unescaped_and_conditions_found() {
        let el = El::parse(
            b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>a &amp; &#x62;</text></failure>",
        )
        .unwrap();
        assert_eq!(el.condition(), Some("not-authorized"));
        assert_eq!(el.child("text").unwrap().text, "a & b");
        let iq =
            El::parse(b"<iq type='error' id='r&apos;1'><query/><error type='cancel'><conflict/></error></iq>").unwrap();
        assert_eq!(iq.attr("id"), Some("r'1"));
        assert_eq!(iq.condition(), Some("conflict"));
    }

    #[test]
    fn headers_and_broken_input() {
        let h = El::parse_open_tag(b"<stream:stream from='localhost' id='abc' version='1.0'>").unwrap();
        assert_eq!((h.name.as_str(), h.attr("id")), ("stream", Some("abc")));
        assert!(El::parse(b"<a><b></a>").is_err());
        assert!(El::parse(b"<a>").is_err());
        assert_eq!(escape("<'&\">"), "&lt;&apos;&amp;&quot;&gt;");
    }
}
