//! Requests to stop written contact ("no me manden más mensajes por WhatsApp", "don't text
//! me") and the channels a stop-contact request names. The channel names are the ones the
//! portfolio import and the opt-out store use: `voice`, `sms`, `email` and `whatsapp`.

use super::text::Words;

/// Words that name a channel, most specific first: "mensajes por whatsapp" is WhatsApp, while
/// "mensajes" alone is read as SMS.
const CHANNEL_WORDS: &[(&str, &[&str])] = &[
    ("whatsapp", &["whatsapp*", "wasap*", "guasap*", "wsp", "wpp"]),
    ("email", &["correo*", "email*", "e mail*", "mail", "mails", "emailing", "emailed"]),
    ("sms", &["sms", "mensaje*", "mensajito*", "texto*", "text", "texts", "texting", "txt", "message*", "messaging"]),
    (
        "voice",
        &[
            "llamen", "llame", "llames", "llamada*", "llamar*", "marquen", "marque", "marcar*", "call", "calls",
            "calling",
        ],
    ),
];

/// Verbs of written contact that name their channel by themselves: "don't text me" is SMS.
const CHANNEL_VERBS: &[(&str, &[&str])] = &[
    ("whatsapp", &["whatsappear*", "wasapear*"]),
    ("email", &["email me", "emailing me", "e mail me"]),
    ("sms", &["text me", "texting me", "message me", "messaging me", "textear*", "textearme"]),
];

/// Negated or stopped sending verbs: with a channel word in the same turn they ask to stop
/// contact on that channel ("no me manden correos", "stop sending me emails").
const STOP_SENDING: &[&str] = &[
    "no me manden",
    "no me mande",
    "no me mandes",
    "no me envien",
    "no me envie",
    "no me envies",
    "no me escriban",
    "no me escriba",
    "no me escribas",
    "no me sigan mandando",
    "no me sigan enviando",
    "no me sigan escribiendo",
    "no me esten mandando",
    "no me esten escribiendo",
    "dejen de mandar*",
    "deje de mandar*",
    "deja de mandar*",
    "dejen de enviar*",
    "deje de enviar*",
    "deja de enviar*",
    "dejen de escribir*",
    "deje de escribir*",
    "deja de escribir*",
    "no quiero mas",
    "no quiero recibir",
    "ya no quiero",
    // Not "no más" alone: Mexicans say it for "just" ("no más le aviso que ya mandé el correo").
    "no mas mensaje*",
    "no mas correo*",
    "no mas whatsapp*",
    "dont send",
    "do not send",
    "stop sending",
    "quit sending",
    "no more",
    "dont want any more",
    "dont want anymore",
    "dont want your",
];

/// Stopped or negated verbs that carry the channel themselves ("don't text me", "stop texting").
const STOP_CHANNEL_VERB: &[&str] = &[
    "dont text",
    "do not text",
    "stop texting",
    "quit texting",
    "dont email",
    "do not email",
    "stop emailing",
    "quit emailing",
    "dont message",
    "do not message",
    "stop messaging",
    "no me textees",
    "no me texteen",
    "dejen de textear*",
];

/// Tells whether the caller asks to stop written contact on a named channel.
pub(super) fn asks_to_stop_writing(words: &Words) -> bool {
    let names_written_channel = channels_named(words).iter().any(|channel| *channel != "voice");
    let stops_sending = words.contains_any(STOP_SENDING) && names_written_channel;
    stops_sending || words.contains_any(STOP_CHANNEL_VERB)
}

/// Lists the channels the turn names, in the order of [`CHANNEL_WORDS`], without repeats.
pub(super) fn channels_named(words: &Words) -> Vec<&'static str> {
    let mut channels: Vec<&'static str> = Vec::new();
    let mut add = |channel: &'static str| {
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    };
    for (channel, verbs) in CHANNEL_VERBS {
        if words.contains_any(verbs) {
            add(channel);
        }
    }
    for (channel, names) in CHANNEL_WORDS {
        if words.contains_any(names) {
            add(channel);
        }
    }
    // "Mensajes por WhatsApp" names one channel, not two.
    if channels.contains(&"whatsapp") {
        channels.retain(|channel| *channel != "sms");
    }
    channels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels(text: &str) -> Vec<&'static str> {
        channels_named(&Words::new(text))
    }

    #[test]
    fn whatsapp_messages_are_one_channel() {
        assert_eq!(channels("ya no me manden mensajes por whatsapp"), ["whatsapp"]);
    }

    #[test]
    fn messages_alone_are_sms() {
        assert_eq!(channels("no me manden más mensajes"), ["sms"]);
        assert_eq!(channels("don't text me anymore"), ["sms"]);
    }

    #[test]
    fn mail_words_are_email() {
        assert_eq!(channels("no me manden más correos"), ["email"]);
        assert_eq!(channels("stop emailing me"), ["email"]);
    }

    #[test]
    fn two_channels_are_both_listed() {
        assert_eq!(channels("no me manden correos ni mensajes de texto"), ["email", "sms"]);
        assert_eq!(channels("no me llamen ni me manden mensajes"), ["sms", "voice"]);
    }

    #[test]
    fn sending_without_a_channel_is_no_stop_request() {
        assert!(!asks_to_stop_writing(&Words::new("no me mande el recibo")));
        assert!(!asks_to_stop_writing(&Words::new("no más le aviso que ya mandé el correo")));
        assert!(asks_to_stop_writing(&Words::new("no me manden whatsapp")));
        assert!(asks_to_stop_writing(&Words::new("and don't text me anymore")));
    }
}
