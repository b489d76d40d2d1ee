//! The step recover, verify, add-card and reshare have in common: read a custodian card's
//! public record (no PIN), then, after the PIN, open its share with one blinded UNSEAL
//! (the share is checked against its commitment). Failures are sentences naming the card,
//! so a ceremony can report them and carry on with the next card.

use std::io::Write;

use rand::rngs::OsRng;

use quorum_card::card::{Card, CardError};
use quorum_card::transport::{Transport, TransportError};
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::wei25519::POINT_LEN;
use quorum_protocol::crypto::{CardKey, SetDigest};
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, OpenedShare};

use super::inspect::SetMembership;
use super::pin_step::{verify_pin, Verified};
use super::{CeremonyError, PinPolicy};

/// How a card is named in reports: its fingerprint and place in its set once its record was read.
#[derive(Debug, Clone)]
pub struct Who {
    /// The card's fingerprint, when its record was read.
    pub fingerprint: Option<String>,
    /// Fingerprint, custodian index and name; or "card" when nothing is known.
    pub text: String,
}

impl Who {
    /// A card whose record could not be read.
    pub fn unknown() -> Who {
        Who {
            fingerprint: None,
            text: "card".to_owned(),
        }
    }

    /// The card of the custodian a record is for (its own index).
    pub fn custodian(record: &PublicRecord) -> Who {
        let custodian = record
            .custodian(record.index)
            .expect("a decoded record lists its own index");
        let fingerprint = custodian.card_key.fingerprint();
        Who {
            text: format!(
                "{fingerprint} (custodian {} \"{}\")",
                record.index, custodian.name
            ),
            fingerprint: Some(fingerprint),
        }
    }
}

/// One card seen during a ceremony that goes on when a card is refused.
#[derive(Debug, Clone)]
pub struct SeenCard {
    /// The reader it was in.
    pub reader: String,
    /// How it is named.
    pub who: Who,
    /// It took part (its share was used, or it is the new card).
    pub used: bool,
    /// What happened, or why it was skipped.
    pub note: String,
}

impl SeenCard {
    /// The cards as a list for an error message ("" when there are none).
    pub fn listing(cards: &[SeenCard]) -> String {
        if cards.is_empty() {
            return String::new();
        }
        let lines: Vec<String> = cards
            .iter()
            .map(|c| format!("  - {} in \"{}\": {}", c.who.text, c.reader, c.note))
            .collect();
        format!(":\n{}", lines.join("\n"))
    }
}

/// A custodian card's public record, read without a PIN.
#[derive(Debug, Clone)]
pub struct Member {
    /// The public part as stored (also the HPKE aad of the sealed part).
    pub public: Vec<u8>,
    /// The public part, decoded.
    pub record: PublicRecord,
    /// The card's own key (GET STATUS), equal to the one its record names for it.
    pub key: CardKey,
    /// The digest of the set its record describes, computed once.
    pub digest: SetDigest,
    /// How to name the card.
    pub who: Who,
}

impl Member {
    /// The card's set, index and custodian name, for messages.
    pub fn membership(&self) -> SetMembership {
        SetMembership::from_record(&self.record)
    }

    /// The card's fingerprint.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }
}

/// A card that cannot take part, with the sentence that says why.
pub type Refusal = (Who, String);

/// SELECT, GET RECORD (public) and GET STATUS: the card's place in its set; refused unless
/// ENROLLED and unless the card's own key is the one its record lists for it, so a card
/// carrying a copied record is named before any PIN is sent to it.
pub fn read_member<T: Transport>(card: &mut Card<T>) -> Result<Member, Refusal> {
    let info = card.select().map_err(|e| (Who::unknown(), sentence(&e)))?;
    if info.state != LifeCycle::Enrolled {
        return Err((
            Who::unknown(),
            format!("holds no share (state: {})", info.state.name()),
        ));
    }
    let public = card
        .get_record_public()
        .map_err(|e| (Who::unknown(), sentence(&e)))?;
    let record = PublicRecord::decode(&public)
        .map_err(|e| (Who::unknown(), format!("its record is unreadable: {e}")))?;
    let listed = record
        .custodian(record.index)
        .expect("a decoded record lists its own index")
        .card_key;
    let who = Who::custodian(&record);
    let status = card.status().map_err(|e| (who.clone(), sentence(&e)))?;
    let Some(point) = status.public_key else {
        return Err((
            who,
            format!(
                "reports no key of its own (state: {}): it is not a genuine quorum card; no PIN was sent to it",
                status.state.name()
            ),
        ));
    };
    let key = CardKey::from_card_point(&point).map_err(|e| {
        (
            who.clone(),
            format!("its own public key is invalid ({e}): it is not a genuine quorum card; no PIN was sent to it"),
        )
    })?;
    if key != listed {
        return Err((
            Who {
                fingerprint: Some(key.fingerprint()),
                text: format!("{} (carrying custodian {}'s record)", key.fingerprint(), record.index),
            },
            format!(
                "this card's key is {}, but its record is custodian {}'s, written for card {}: the record was copied onto another card; no PIN was sent to it",
                key.fingerprint(),
                record.index,
                listed.fingerprint()
            ),
        ));
    }
    Ok(Member {
        digest: record.set_digest(),
        public,
        record,
        key,
        who,
    })
}

/// VERIFY, GET RECORD (sealed) and UNSEAL: the member's share, opened and checked against
/// the commitment its set description publishes.
pub fn open_member<T: Transport>(
    card: &mut Card<T>,
    member: &Member,
    pins: &PinPolicy<'_>,
    reader: &str,
    out: &mut dyn Write,
) -> Result<OpenedShare, Refusal> {
    open_member_keeping_pin(card, member, pins, reader, out).map(|(share, _)| share)
}

/// [`open_member`], also returning the PIN the card accepted, for a ceremony that writes
/// the same card later.
pub fn open_member_keeping_pin<T: Transport>(
    card: &mut Card<T>,
    member: &Member,
    pins: &PinPolicy<'_>,
    reader: &str,
    out: &mut dyn Write,
) -> Result<(OpenedShare, Verified), Refusal> {
    let pin = verify_pin(card, pins, &member.fingerprint(), reader, out)
        .map_err(|e| (member.who.clone(), sentence(&e)))?;
    open_verified(card, member).map(|share| (share, pin))
}

/// GET RECORD (sealed) and UNSEAL on a card whose PIN was accepted in this session: the
/// member's share, opened and checked against its commitment.
pub fn open_verified<T: Transport>(
    card: &mut Card<T>,
    member: &Member,
) -> Result<OpenedShare, Refusal> {
    let refuse = |e: String| (member.who.clone(), e);
    let sealed = card.get_record_sealed().map_err(|e| refuse(sentence(&e)))?;
    sharing::open_share(
        &member.public,
        &sealed,
        &member.key,
        &mut OsRng,
        |point: &[u8; POINT_LEN]| card.unseal(point).map(|x| *x),
    )
    .map_err(|e| refuse(sentence(&e)))
}

/// A failure as a sentence for a ceremony that goes on with other cards: a card that left
/// the reader in the middle of a step is said to be pulled out (nothing on it changed, it
/// may come back), instead of the stand-alone advice to repeat the command.
pub fn sentence(e: &(dyn std::error::Error + 'static)) -> String {
    if card_left(e) {
        return "was pulled out of the reader (or the reader failed) before this step finished; nothing on the card changed: insert it again when a card is asked for".to_owned();
    }
    e.to_string()
}

/// Whether a failure, at any depth, is the card leaving the reader (or the reader failing)
/// in the middle of an exchange, so that messages can say what that did to the card.
pub fn card_left(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let transport = c
            .downcast_ref::<TransportError>()
            .or_else(|| match c.downcast_ref::<CardError>() {
                Some(CardError::Transport(t)) => Some(t),
                _ => None,
            })
            .or_else(|| match c.downcast_ref::<CeremonyError>() {
                Some(CeremonyError::Transport(t)) => Some(t),
                _ => None,
            });
        if let Some(
            TransportError::CardRemoved
            | TransportError::ExchangeFailed
            | TransportError::NoCard(_),
        ) = transport
        {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_that_left_the_reader_is_said_to_be_pulled_out_at_any_depth() {
        let direct = TransportError::CardRemoved;
        let in_card = CardError::Transport(TransportError::ExchangeFailed);
        let in_ceremony =
            CeremonyError::card("r", CardError::Transport(TransportError::CardRemoved));
        for text in [
            sentence(&direct),
            sentence(&in_card),
            sentence(&in_ceremony),
        ] {
            assert!(text.starts_with("was pulled out of the reader"), "{text}");
        }
        let other = CardError::PinBlocked;
        assert_eq!(sentence(&other), other.to_string());
    }
}
