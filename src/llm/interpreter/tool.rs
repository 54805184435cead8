//! The `report_interpretation` tool: its JSON Schema and the typed reading of its arguments.

use serde_json::{json, Map, Value};

use crate::dialog::nlu::Intent;
use crate::dialog::Language;
use crate::llm::ToolDefinition;

use super::InterpretError;

pub(super) const TOOL_NAME: &str = "report_interpretation";

/// Kind of amount the caller named, from the `amount_kind` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AmountKind {
    Exact,
    FullBalance,
    Half,
}

/// The tool arguments with their JSON types checked. Values are checked against the call
/// (ranges, formats) later, when they are merged with the rules' reading.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ToolReading {
    pub intent: Intent,
    /// In the currency's major unit, as the model sent it.
    pub amount: Option<f64>,
    pub amount_kind: Option<AmountKind>,
    /// Expected as `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Any JSON number, so that a non-integer count is dropped as out of range.
    pub installments: Option<f64>,
    /// Expected as `HH:MM`.
    pub time: Option<String>,
    pub language: Option<Language>,
    pub reply: Option<String>,
}

/// Builds the tool definition sent with every request.
pub(super) fn definition() -> ToolDefinition {
    let intents: Vec<&str> = Intent::ALL.iter().map(|intent| intent.as_str()).collect();
    ToolDefinition {
        name: TOOL_NAME.to_string(),
        description: "Reports the meaning of the caller's last message and the details it names.".to_string(),
        parameters: json!({
            "type": "object",
            "properties": {
                "intent": { "type": "string", "enum": intents },
                "amount": {
                    "type": ["number", "null"],
                    "description": "Amount the caller said, in whole units of the debt's currency.",
                },
                "amount_kind": { "type": ["string", "null"], "enum": ["exact", "full_balance", "half", null] },
                "date": { "type": ["string", "null"], "description": "Date the caller named, as YYYY-MM-DD." },
                "installments": { "type": ["integer", "null"], "minimum": 1, "maximum": 60 },
                "time": { "type": ["string", "null"], "description": "Time of day for a call, as HH:MM (24-hour)." },
                "language": { "type": ["string", "null"], "enum": ["es", "en", null] },
                "reply": {
                    "type": ["string", "null"],
                    "description": "Short answer to an off-script question, without figures or dates.",
                },
            },
            "required": ["intent"],
            "additionalProperties": false,
        }),
    }
}

/// Reads the arguments of a `report_interpretation` call. A missing or null field is `None`.
/// A field of the wrong JSON type or outside its enum makes the whole call invalid, because a
/// model that ignored the schema there is not trusted with the rest.
pub(super) fn parse_arguments(arguments: &Value) -> Result<ToolReading, InterpretError> {
    let Some(fields) = arguments.as_object() else {
        return Err(invalid("(arguments)", "is not a JSON object"));
    };

    let intent_name = string_field(fields, "intent")?.ok_or_else(|| invalid("intent", "is missing"))?;
    let intent = intent_name.parse::<Intent>().map_err(|_| InterpretError::UnknownIntent)?;

    let amount_kind = match string_field(fields, "amount_kind")?.as_deref() {
        None => None,
        Some("exact") => Some(AmountKind::Exact),
        Some("full_balance") => Some(AmountKind::FullBalance),
        Some("half") => Some(AmountKind::Half),
        Some(_) => return Err(invalid("amount_kind", "is not exact, full_balance or half")),
    };
    let language = match string_field(fields, "language")?.as_deref() {
        None => None,
        Some("es") => Some(Language::Es),
        Some("en") => Some(Language::En),
        Some(_) => return Err(invalid("language", "is not es or en")),
    };

    Ok(ToolReading {
        intent,
        amount: number_field(fields, "amount")?,
        amount_kind,
        date: string_field(fields, "date")?,
        installments: number_field(fields, "installments")?,
        time: string_field(fields, "time")?,
        language,
        reply: string_field(fields, "reply")?,
    })
}

fn string_field(fields: &Map<String, Value>, name: &'static str) -> Result<Option<String>, InterpretError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(name, "is not a string or null")),
    }
}

fn number_field(fields: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, InterpretError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(_) => Err(invalid(name, "is not a number or null")),
    }
}

fn invalid(field: &'static str, reason: &'static str) -> InterpretError {
    InterpretError::InvalidArgument { field, reason }
}
