//! Drafts written by an OpenAI-compatible chat model, when one is configured
//! (`NEXIFY_DRAFTS=openai` with `NEXIFY_OPENAI_BASE_URL`). The model sees the ticket and the
//! passages retrieved for it, numbered, and may cite only those: a `[n]` outside them is
//! dropped from the citations. Without a provider, or when it fails, the extractive
//! grounded draft stands.

use nexify_embed::openai::{OpenAiClient, OpenAiConfig};
use nexify_triage::{Citation, Passage, SimilarTicket};

use crate::ServiceError;

const SYSTEM_PROMPT: &str = "You are a customer support agent. Write a short, friendly reply \
to the customer's ticket using only the numbered knowledge-base passages given. Cite each \
passage you rely on with its number in square brackets, like [1]. If the passages do not \
answer the ticket, say that the team is looking into it. Do not invent policies, prices or \
steps that are not in the passages.";

pub struct ChatDrafter {
    client: OpenAiClient,
}

impl ChatDrafter {
    pub fn new(client: OpenAiClient) -> Self {
        Self { client }
    }

    /// The drafter the environment configures, if any.
    pub fn from_env() -> Result<Option<Self>, nexify_embed::EmbedError> {
        if std::env::var("NEXIFY_DRAFTS").ok().as_deref() != Some("openai") {
            return Ok(None);
        }
        Ok(OpenAiConfig::from_env()?.map(|config| Self::new(OpenAiClient::new(config))))
    }

    /// Recorded in the suggestion's metadata.
    pub fn name(&self) -> String {
        format!("openai:{}", self.client.config().chat_model)
    }

    /// The model's draft and the citations it made among `passages`.
    #[tracing::instrument(skip_all, fields(passages = passages.len()), err)]
    pub async fn write(
        &self,
        subject: &str,
        body: &str,
        passages: &[Passage],
        similar: &[SimilarTicket],
    ) -> Result<(String, Vec<Citation>), ServiceError> {
        let mut user = format!("Ticket subject: {subject}\nTicket body:\n{body}\n\nPassages:\n");
        for (i, p) in passages.iter().enumerate() {
            user.push_str(&format!("[{}] {}: {}\n", i + 1, p.title, p.content));
        }
        // Approved replies to very similar tickets: how the team answered before. They are
        // context, not sources, so they carry no number and cannot be cited.
        let earlier: Vec<&SimilarTicket> = similar
            .iter()
            .filter(|s| s.similarity >= nexify_triage::REUSE_REPLY_SIMILARITY)
            .filter(|s| s.reply.is_some())
            .take(2)
            .collect();
        if !earlier.is_empty() {
            user.push_str("\nHow the team answered very similar tickets before:\n");
            for s in earlier {
                user.push_str(&format!(
                    "- \"{}\": {}\n",
                    s.subject,
                    s.reply.as_deref().unwrap_or_default()
                ));
            }
        }
        let draft = self
            .client
            .chat(SYSTEM_PROMPT, &user)
            .await
            .map_err(ServiceError::Drafting)?;
        let citations = cited(&draft, passages);
        Ok((draft.trim().to_owned(), citations))
    }
}

/// The passages a draft cites as `[n]` (1-based), each once, in order of first mention;
/// numbers that name no retrieved passage are ignored.
pub fn cited(draft: &str, passages: &[Passage]) -> Vec<Citation> {
    let mut seen = Vec::new();
    let mut rest = draft;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        if let Ok(n) = rest[..close].trim().parse::<usize>()
            && (1..=passages.len()).contains(&n)
            && !seen.contains(&n)
        {
            seen.push(n);
        }
        rest = &rest[close..];
    }
    seen.into_iter()
        .map(|n| {
            let p = &passages[n - 1];
            Citation {
                document_id: p.document_id,
                chunk_id: p.chunk_id,
                char_start: p.char_start,
                char_end: p.char_end,
                score: p.score,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(i: i32) -> Passage {
        Passage {
            document_id: uuid::Uuid::new_v4(),
            chunk_id: uuid::Uuid::new_v4(),
            title: format!("Article {i}"),
            content: "text".into(),
            char_start: i,
            char_end: i + 10,
            score: 0.5,
        }
    }

    #[test]
    fn only_retrieved_passages_can_be_cited() {
        let passages = vec![passage(1), passage(2)];
        let cites = cited(
            "See [2], then [1] and [2] again; [3] and [x] are not real.",
            &passages,
        );
        assert_eq!(
            cites.iter().map(|c| c.chunk_id).collect::<Vec<_>>(),
            vec![passages[1].chunk_id, passages[0].chunk_id]
        );
        assert!(cited("No citations here.", &passages).is_empty());
    }
}
