//! What quorumctl prints when a command ends: text for people, or with `--json` one JSON
//! document on standard output for scripts (progress still goes to standard error).
//!
//! The document is `{"command", "ok", "exit_code", "status", "result" | "error"}`; `status`
//! is the exit status's name (README, "Exit codes").

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use crate::exit::ExitStatus;

/// Collects a command's results and prints them in the chosen form.
pub struct Report {
    json: bool,
    command: &'static str,
    result: Map<String, Value>,
    error: Option<Value>,
}

impl Report {
    /// A report for `command`, as text or as JSON.
    pub fn new(command: &'static str, json: bool) -> Report {
        Report {
            json,
            command,
            result: Map::new(),
            error: None,
        }
    }

    /// Whether output is JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// One line of the text result (standard output); nothing in JSON mode.
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            stdout(&format!("{}\n", text.as_ref()));
        }
    }

    /// One field of the JSON result.
    pub fn set(&mut self, key: &str, value: Value) {
        self.result.insert(key.to_owned(), value);
    }

    /// The typed form of the error the run ends with (`{"kind", "detail"}`), for scripts.
    pub fn error_detail(&mut self, typed: Value) {
        self.error = Some(typed);
    }

    /// Prints the end of the run (the error in text; the document in JSON) and gives the exit code.
    pub fn finish(self, outcome: Result<(), (ExitStatus, String, Vec<String>)>) -> ExitCode {
        let status = match &outcome {
            Ok(()) => ExitStatus::Ok,
            Err((status, message, causes)) => {
                eprintln!("error: {message}");
                for cause in causes {
                    eprintln!("  caused by: {cause}");
                }
                *status
            }
        };
        if self.json {
            let mut doc = json!({
                "command": self.command,
                "ok": outcome.is_ok(),
                "exit_code": status.code(),
                "status": status.name(),
            });
            match outcome {
                Ok(()) => doc["result"] = Value::Object(self.result),
                Err((_, message, causes)) => {
                    doc["error"] = json!({ "message": message, "causes": causes });
                    if let Some(Value::Object(typed)) = self.error {
                        for (key, value) in typed {
                            doc["error"][key] = value;
                        }
                    }
                    if !self.result.is_empty() {
                        doc["result"] = Value::Object(self.result);
                    }
                }
            }
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("a report always serialises")
            ));
        }
        ExitCode::from(status.code())
    }
}

/// Writes `text` to standard output. A reader that went away (`quorumctl readers | head`)
/// is not an error of the run: what it did stands and its exit status says so; the rest of
/// the output is dropped instead of a panic.
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The causes of an error that its own message does not already include, for printing.
pub fn causes(e: &dyn std::error::Error) -> Vec<String> {
    let message = e.to_string();
    let mut out = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            out.push(text);
        }
        source = s.source();
    }
    out
}
