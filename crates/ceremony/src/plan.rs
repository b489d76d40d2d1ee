//! A ceremony plan: what an enrollment will do, written down and reviewed before the
//! ceremony (set label, threshold, each custodian by name and card fingerprint, where the
//! bundle goes, who runs it and who witnesses it), then followed by `enroll`, which refuses
//! any card the plan does not name before a PIN is asked. The file is JSON, format
//! [`PLAN_FORMAT`]; apdu-spec/plan-format.md describes it.

use std::collections::HashSet;

use quorum_protocol::record::{self, MAX_CUSTODIANS};

/// The format tag a plan file starts with; a reader refuses any other.
pub const PLAN_FORMAT: &str = "quorum-plan/1";

/// Largest plan file read: far above any real plan, small enough to read at once.
pub const PLAN_FILE_MAX: usize = 256 * 1024;

/// The plan of one enrollment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: String,
    /// The set label every card will carry.
    pub label: String,
    /// Cards needed to recover (n).
    pub threshold: u8,
    /// Every custodian of the set (m of them), in share-index order.
    pub custodians: Vec<PlannedCustodian>,
    /// Where the bundle is written (default: the label's file name, as enroll chooses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// Who runs the ceremony.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Who witnesses it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
}

/// One custodian as planned: a person and the card they bring.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedCustodian {
    /// The custodian's name, as the record will carry it.
    pub name: String,
    /// The card's fingerprint, as `init` and `status` show it (`xxxx-xxxx-xxxx-xxxx`).
    pub card: String,
}

/// Why a plan cannot be followed; nothing was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum PlanError {
    /// Not JSON, or not the plan's shape.
    #[error("is not a plan file: {0}")]
    Malformed(String),
    /// Another format (or another version of this one).
    #[error("has format {found:?}; this quorumctl reads {PLAN_FORMAT:?}")]
    Format {
        /// What the file says.
        found: String,
    },
    /// The label breaks the record's rules.
    #[error("its label: {0}")]
    Label(String),
    /// No custodian, or more than a set holds.
    #[error("names {count} custodians; a set has 1 to {MAX_CUSTODIANS}")]
    CustodianCount {
        /// How many it names.
        count: usize,
    },
    /// The threshold is 0 or above the number of custodians.
    #[error("asks for {threshold} of {count} cards; the threshold must be 1 to {count}")]
    Threshold {
        /// The threshold.
        threshold: u8,
        /// The custodians named.
        count: usize,
    },
    /// A custodian's card is not a fingerprint.
    #[error("custodian {name:?}: {card:?} is not a card fingerprint (xxxx-xxxx-xxxx-xxxx, as init and status show it)")]
    Fingerprint {
        /// The custodian.
        name: String,
        /// What was written.
        card: String,
    },
    /// A custodian's name breaks the record's rules.
    #[error(
        "custodian {name:?}: a name is 1 to {} bytes of printable UTF-8",
        record::MAX_NAME_LEN
    )]
    Name {
        /// The name.
        name: String,
    },
    /// Two custodians bring the same card.
    #[error("names card {card} for two custodians")]
    DuplicateCard {
        /// The card.
        card: String,
    },
    /// Two custodians have the same name.
    #[error("names two custodians {name:?}; give each a name of their own")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// The operator's or a witness's name is empty or has control characters.
    #[error(
        "{role} {name:?}: a name is 1 to {} bytes of printable UTF-8",
        record::MAX_NAME_LEN
    )]
    Person {
        /// "operator" or "witness".
        role: &'static str,
        /// The name.
        name: String,
    },
}

/// How the cards at hand differ from the plan: cards it does not name, and planned cards not
/// there (by fingerprint).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Deviation {
    /// Cards present that the plan does not name.
    pub unplanned: Vec<String>,
    /// Planned cards not present, with their custodians.
    pub missing: Vec<PlannedCustodian>,
}

impl Deviation {
    /// Whether the cards are exactly the planned ones.
    pub fn is_none(&self) -> bool {
        self.unplanned.is_empty() && self.missing.is_empty()
    }
}

impl Plan {
    /// A plan with these parts, checked.
    pub fn new(
        label: &str,
        threshold: u8,
        custodians: Vec<PlannedCustodian>,
    ) -> Result<Plan, PlanError> {
        let plan = Plan {
            format: PLAN_FORMAT.to_owned(),
            label: label.to_owned(),
            threshold,
            custodians: custodians
                .into_iter()
                .map(|c| PlannedCustodian {
                    card: c.card.trim().to_ascii_lowercase(),
                    ..c
                })
                .collect(),
            bundle: None,
            operator: None,
            witnesses: Vec::new(),
        };
        plan.check()?;
        Ok(plan)
    }

    /// Reads a plan file's bytes and checks every rule, so a ceremony never starts on a plan
    /// it cannot follow.
    pub fn parse(bytes: &[u8]) -> Result<Plan, PlanError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| PlanError::Malformed(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != PLAN_FORMAT {
            return Err(PlanError::Format {
                found: format.to_owned(),
            });
        }
        let mut plan: Plan =
            serde_json::from_value(value).map_err(|e| PlanError::Malformed(e.to_string()))?;
        for c in &mut plan.custodians {
            c.card = c.card.trim().to_ascii_lowercase();
        }
        plan.check()?;
        Ok(plan)
    }

    /// The plan as its file holds it (pretty JSON, one trailing newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serialises");
        text.push('\n');
        text
    }

    /// Every rule a plan must meet.
    pub fn check(&self) -> Result<(), PlanError> {
        record::check_label(&self.label).map_err(|e| PlanError::Label(e.to_string()))?;
        let count = self.custodians.len();
        if count == 0 || count > MAX_CUSTODIANS {
            return Err(PlanError::CustodianCount { count });
        }
        if self.threshold == 0 || usize::from(self.threshold) > count {
            return Err(PlanError::Threshold {
                threshold: self.threshold,
                count,
            });
        }
        let (mut cards, mut names) = (HashSet::new(), HashSet::new());
        for c in &self.custodians {
            if crate::pins::normalise_fingerprint(c.card.as_bytes()).is_none() {
                return Err(PlanError::Fingerprint {
                    name: c.name.clone(),
                    card: c.card.clone(),
                });
            }
            if c.name.is_empty() || record::check_name(&c.name, 0).is_err() {
                return Err(PlanError::Name {
                    name: c.name.clone(),
                });
            }
            if !cards.insert(c.card.as_str()) {
                return Err(PlanError::DuplicateCard {
                    card: c.card.clone(),
                });
            }
            if !names.insert(c.name.as_str()) {
                return Err(PlanError::DuplicateName {
                    name: c.name.clone(),
                });
            }
        }
        let people = self
            .operator
            .iter()
            .map(|o| ("operator", o))
            .chain(self.witnesses.iter().map(|w| ("witness", w)));
        for (role, name) in people {
            if name.is_empty() || record::check_name(name, 0).is_err() {
                return Err(PlanError::Person {
                    role,
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The custodians' names by card fingerprint, as enroll takes names.
    pub fn names(&self) -> Vec<(String, String)> {
        self.custodians
            .iter()
            .map(|c| (c.card.clone(), c.name.clone()))
            .collect()
    }

    /// The custodian planned for `fingerprint`, if any.
    pub fn custodian(&self, fingerprint: &str) -> Option<&PlannedCustodian> {
        self.custodians
            .iter()
            .find(|c| c.card.eq_ignore_ascii_case(fingerprint))
    }

    /// How the cards with these fingerprints differ from the plan.
    pub fn deviation(&self, present: &[String]) -> Deviation {
        Deviation {
            unplanned: present
                .iter()
                .filter(|fp| self.custodian(fp).is_none())
                .cloned()
                .collect(),
            missing: self
                .custodians
                .iter()
                .filter(|c| !present.iter().any(|fp| fp.eq_ignore_ascii_case(&c.card)))
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custodian(name: &str, card: &str) -> PlannedCustodian {
        PlannedCustodian {
            name: name.into(),
            card: card.into(),
        }
    }

    fn three() -> Vec<PlannedCustodian> {
        vec![
            custodian("Alice", "51D4-77cb-be13-c565"),
            custodian("Bob", "0f0e-0d0c-0b0a-0908"),
            custodian("Eve", "a1b2-c3d4-e5f6-0718"),
        ]
    }

    #[test]
    fn a_plan_round_trips_through_its_file_with_fingerprints_in_lower_case() {
        let mut plan = Plan::new("root-ca-2026", 2, three()).unwrap();
        plan.operator = Some("Olga".into());
        plan.witnesses = vec!["Wim".into(), "Wanda".into()];
        assert_eq!(plan.custodians[0].card, "51d4-77cb-be13-c565");
        let text = plan.to_json();
        assert!(
            text.starts_with("{\n  \"format\": \"quorum-plan/1\""),
            "{text}"
        );
        assert_eq!(Plan::parse(text.as_bytes()).unwrap(), plan);
        assert_eq!(
            plan.names()[1],
            ("0f0e-0d0c-0b0a-0908".to_owned(), "Bob".to_owned())
        );
    }

    #[test]
    fn every_rule_is_checked_with_its_own_reason() {
        let bad = |threshold, custodians| Plan::new("set", threshold, custodians).unwrap_err();
        assert!(matches!(bad(0, three()), PlanError::Threshold { .. }));
        assert!(matches!(bad(4, three()), PlanError::Threshold { .. }));
        assert!(matches!(
            bad(1, vec![]),
            PlanError::CustodianCount { count: 0 }
        ));
        let mut twice = three();
        twice[2].card = "0F0E-0D0C-0B0A-0908".into();
        assert!(matches!(bad(2, twice), PlanError::DuplicateCard { .. }));
        let mut same_name = three();
        same_name[2].name = "Bob".into();
        assert!(matches!(bad(2, same_name), PlanError::DuplicateName { .. }));
        let mut not_a_card = three();
        not_a_card[0].card = "51d4 77cb".into();
        assert!(matches!(bad(2, not_a_card), PlanError::Fingerprint { .. }));
        let mut nameless = three();
        nameless[0].name = String::new();
        assert!(matches!(bad(2, nameless), PlanError::Name { .. }));
        assert!(matches!(
            Plan::new("", 2, three()).unwrap_err(),
            PlanError::Label(_)
        ));
        assert!(matches!(
            Plan::parse(b"{\"format\":\"quorum-plan/2\"}").unwrap_err(),
            PlanError::Format { .. }
        ));
        assert!(matches!(
            Plan::parse(b"not json").unwrap_err(),
            PlanError::Malformed(_)
        ));
        let mut extra: serde_json::Value =
            serde_json::from_str(&Plan::new("set", 2, three()).unwrap().to_json()).unwrap();
        extra["shares"] = 3.into();
        assert!(matches!(
            Plan::parse(extra.to_string().as_bytes()).unwrap_err(),
            PlanError::Malformed(_)
        ));
    }

    #[test]
    fn a_deviation_names_unplanned_and_missing_cards() {
        let plan = Plan::new("set", 2, three()).unwrap();
        let present = vec![
            "51d4-77cb-be13-c565".to_owned(),
            "A1B2-C3D4-E5F6-0718".to_owned(),
            "ffff-0000-1111-2222".to_owned(),
        ];
        let deviation = plan.deviation(&present);
        assert_eq!(deviation.unplanned, ["ffff-0000-1111-2222"]);
        assert_eq!(deviation.missing, [custodian("Bob", "0f0e-0d0c-0b0a-0908")]);
        assert!(!deviation.is_none());
        let all: Vec<String> = plan.custodians.iter().map(|c| c.card.clone()).collect();
        assert!(plan.deviation(&all).is_none());
    }
}
