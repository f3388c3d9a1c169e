//! An approved post waiting for distribution. It only ever rests on disk
//! inside the list-key encryption of its queue entry.

use crate::error::{Error, Result};
use crate::model::{Address, Secret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The verified member who wrote it.
    pub author: Address,
    pub author_name: Option<String>,
    pub subject: String,
    /// The author's Date, seconds since the epoch.
    pub date: Option<i64>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Signed by the author's verified key. A post an admin released from
    /// the hold queue is not, and reaches members marked as such.
    #[serde(default = "authenticated")]
    pub authenticated: bool,
    /// The MIME entity the author signed (or sent), CRLF line ends.
    #[serde(skip)]
    pub content: Vec<u8>,
}

/// The content and subject are wiped from memory when a post goes.
impl Drop for Post {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.content.zeroize();
        self.subject.zeroize();
    }
}

impl Post {
    /// One JSON line with the headers, then the content bytes as they are.
    pub fn encode(&self) -> Secret {
        let head = serde_json::to_vec(self).expect("a post always serialises");
        let mut out = Secret::new(Vec::with_capacity(head.len() + 1 + self.content.len()));
        out.extend_from_slice(&head);
        out.push(b'\n');
        out.extend_from_slice(&self.content);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Post> {
        let split = bytes.iter().position(|b| *b == b'\n').ok_or_else(damaged)?;
        let mut post: Post = serde_json::from_slice(&bytes[..split]).map_err(|_| damaged())?;
        post.content = bytes[split + 1..].to_vec();
        Ok(post)
    }
}

fn authenticated() -> bool {
    true
}

fn damaged() -> Error {
    Error::config("a queued post is damaged").hint("discard it with `listcrypt queue discard LIST ID`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_round_trip_with_binary_content() {
        let post = Post {
            author: Address::parse("alice@example.org").unwrap(),
            author_name: Some("Alice \"A\"\nB".into()),
            subject: "héllo".into(),
            date: Some(1),
            message_id: Some("x@y".into()),
            in_reply_to: vec![],
            references: vec!["a@b".into()],
            authenticated: false,
            content: b"Content-Type: text/plain\r\n\r\n\x00\xff\n{".to_vec(),
        };
        assert_eq!(Post::decode(&post.encode()).unwrap(), post);
    }
}
