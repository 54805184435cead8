use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn repo_prompts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

fn values() -> PromptValues {
    PromptValues {
        first_name: "María".into(),
        full_name: "María López Pérez".into(),
        agency: "Cobranzas del Centro".into(),
        bot_name: "Sofía".into(),
        creditor: "Financiera Aurora".into(),
        product: "tarjeta de crédito".into(),
        balance: "cuatro mil quinientos pesos".into(),
        days_past_due: "45".into(),
        amount: "dos mil pesos".into(),
        date: "el viernes 4 de diciembre".into(),
        schedule: "dos pagos de mil pesos, el viernes 4 de diciembre y el domingo 3 de enero".into(),
        remaining: "dos mil quinientos pesos".into(),
        minimum: "setecientos veinte pesos".into(),
        max_installments: "seis".into(),
        latest_date: "el jueves 17 de diciembre".into(),
        callback_time: "el lunes 7 de diciembre a las diez de la mañana".into(),
        channel: "llamadas telefónicas".into(),
        voicemail_business: "Servicios Andinos".into(),
        voicemail_person: "Laura Gómez".into(),
        callback_number: "cinco cinco".into(),
    }
}

/// Writes a prompts folder with a complete Spanish base and the given country file.
fn prompts_dir_with(overlay_locale: &str, overlay: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let base = fs::read_to_string(repo_prompts().join("es-419/script.toml")).expect("base file");
    fs::create_dir_all(dir.path().join("es-419")).expect("base folder");
    fs::write(dir.path().join("es-419/script.toml"), base).expect("base written");
    fs::create_dir_all(dir.path().join(overlay_locale)).expect("overlay folder");
    fs::write(dir.path().join(overlay_locale).join("script.toml"), overlay).expect("overlay written");
    dir
}

#[test]
fn every_locale_loads_embedded() {
    for locale in LOCALES {
        let script = Script::embedded(locale).unwrap_or_else(|error| panic!("{locale}: {error}"));
        assert_eq!(script.locale(), locale);
        for prompt in Prompt::ALL {
            assert!(!script.render(prompt, &values()).trim().is_empty(), "{locale} {prompt}");
        }
    }
}

#[test]
fn embedded_matches_the_folder() {
    for locale in LOCALES {
        let loaded = Script::load(&repo_prompts(), locale).unwrap_or_else(|error| panic!("{locale}: {error}"));
        let embedded = Script::embedded(locale).expect("embedded script");
        assert_eq!(loaded, embedded, "{locale}");
    }
}

#[test]
fn country_file_overrides_only_its_prompts() {
    let base = Script::embedded("es-419").expect("base");
    let mexico = Script::embedded("es-MX").expect("es-MX");
    let id_question = mexico.render(Prompt::VerifyIdentity, &values());
    assert!(id_question.contains("identificación oficial"), "{id_question}");
    assert_ne!(id_question, base.render(Prompt::VerifyIdentity, &values()));
    assert_eq!(mexico.render(Prompt::Greeting, &values()), base.render(Prompt::Greeting, &values()));
}

#[test]
fn greeting_is_filled() {
    let script = Script::embedded("es-419").expect("base");
    assert_eq!(
        script.render(Prompt::Greeting, &values()),
        "Hola, le saluda Sofía, asistente virtual de Cobranzas del Centro. Esta llamada es grabada. \
         ¿Hablo con María López Pérez?"
    );
}

#[test]
fn locale_tags_are_normalised() {
    assert_eq!(Script::embedded("es_mx").expect("es_mx").locale(), "es-MX");
    assert_eq!(Script::embedded("EN-us").expect("EN-us").language(), Language::En);
}

#[test]
fn locale_without_folder_speaks_the_base() {
    let united_states = Script::embedded("es-US").expect("es-US");
    let base = Script::embedded("es-419").expect("base");
    assert_eq!(united_states.locale(), "es-US");
    assert_eq!(united_states.render(Prompt::VerifyIdentity, &values()), base.render(Prompt::VerifyIdentity, &values()));
    let loaded = Script::load(&repo_prompts(), "es-US").expect("es-US from the folder");
    assert_eq!(loaded, united_states);
}

#[test]
fn argentina_asks_for_the_dni() {
    let argentina = Script::embedded("es-AR").expect("es-AR");
    assert!(argentina.render(Prompt::VerifyIdentity, &values()).contains("DNI"));
}

#[test]
fn debt_word_before_verification_is_rejected() {
    let dir = prompts_dir_with("es-MX", "who_is_calling = \"Le llamo por su deuda.\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("a debt word in a pre-verification prompt");
    assert!(
        matches!(error, ScriptError::RevealsDebt { ref key, word, .. } if key == "who_is_calling" && word == "deuda"),
        "{error}"
    );
}

#[test]
fn schedule_outside_offers_is_rejected() {
    let dir = prompts_dir_with("es-MX", "state_balance = \"Su plan: {schedule}.\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("schedule in state_balance");
    assert!(
        matches!(error, ScriptError::PlaceholderNotAllowed { ref key, ref placeholder, .. }
        if key == "state_balance" && placeholder == "schedule"),
        "{error}"
    );
}

#[test]
fn path_like_locale_is_rejected() {
    let error = Script::load(&repo_prompts(), "../../etc").expect_err("a path is not a locale");
    assert!(matches!(error, ScriptError::InvalidLocale(ref locale) if locale == "../../etc"), "{error}");
}

#[test]
fn unknown_placeholder_names_file_and_key() {
    let dir = prompts_dir_with("es-MX", "ask_amount = \"¿Cuánto puede pagar, {nombre}?\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("unknown placeholder");
    let message = error.to_string();
    assert!(
        matches!(error, ScriptError::UnknownPlaceholder { ref key, ref placeholder, .. }
        if key == "ask_amount" && placeholder == "nombre"),
        "{message}"
    );
    assert!(message.contains("es-MX/script.toml"), "{message}");
    assert!(message.contains("ask_amount"), "{message}");
}

#[test]
fn debt_placeholder_before_verification_is_rejected() {
    let dir = prompts_dir_with("es-MX", "greeting = \"Hola, le llamo de {creditor}.\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("creditor in the greeting");
    assert!(
        matches!(error, ScriptError::PlaceholderNotAllowed { ref key, ref placeholder, .. }
        if key == "greeting" && placeholder == "creditor"),
        "{error}"
    );
}

#[test]
fn name_before_identification_is_rejected() {
    let dir = prompts_dir_with("es-MX", "reprompt = \"¿Sigue en la línea, {first_name}?\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("a name in a prompt an unknown caller hears");
    assert!(
        matches!(error, ScriptError::PlaceholderNotAllowed { ref key, ref placeholder, .. }
        if key == "reprompt" && placeholder == "first_name"),
        "{error}"
    );
}

#[test]
fn unidentified_goodbye_may_give_the_callback_number() {
    let overlay = "unidentified_goodbye = \"Llame a {agency}, al {callback_number}.\"\n";
    let dir = prompts_dir_with("es-MX", overlay);
    let script = Script::load(dir.path(), "es-MX").expect("agency and number are allowed");
    assert_eq!(script.render(Prompt::UnidentifiedGoodbye, &values()), "Llame a Cobranzas del Centro, al cinco cinco.");
}

#[test]
fn promise_terms_outside_read_back_are_rejected() {
    let dir = prompts_dir_with("es-MX", "state_debt = \"Debe {amount}.\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("amount in state_debt");
    assert!(
        matches!(error, ScriptError::PlaceholderNotAllowed { ref key, ref placeholder, .. }
        if key == "state_debt" && placeholder == "amount"),
        "{error}"
    );
}

#[test]
fn unknown_prompt_is_rejected() {
    let dir = prompts_dir_with("es-MX", "greting = \"Hola\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("misspelt key");
    assert!(matches!(error, ScriptError::UnknownPrompt { ref key, .. } if key == "greting"), "{error}");
}

#[test]
fn unclosed_brace_is_rejected() {
    let dir = prompts_dir_with("es-MX", "ask_amount = \"¿Cuánto, {first_name?\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("unclosed brace");
    assert!(matches!(error, ScriptError::UnclosedBrace { ref key, .. } if key == "ask_amount"), "{error}");
}

#[test]
fn non_text_prompt_is_rejected() {
    let dir = prompts_dir_with("es-MX", "ask_amount = 3\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("a number");
    assert!(matches!(error, ScriptError::NotText { ref key, .. } if key == "ask_amount"), "{error}");
}

#[test]
fn base_missing_a_prompt_is_rejected() {
    let dir = tempfile::tempdir().expect("temporary folder");
    fs::create_dir_all(dir.path().join("en-US")).expect("folder");
    fs::write(dir.path().join("en-US/script.toml"), "greeting = \"Hello, {full_name}?\"\n").expect("written");
    let error = Script::load(dir.path(), "en-US").expect_err("incomplete base");
    assert!(matches!(error, ScriptError::MissingPrompt { ref key, .. } if key == "disclosure"), "{error}");
}

#[test]
fn missing_base_file_names_its_path() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let error = Script::load(dir.path(), "es-CO").expect_err("no files");
    assert!(error.to_string().contains("es-419"), "{error}");
}

#[test]
fn invalid_toml_names_the_file() {
    let dir = prompts_dir_with("es-CL", "greeting = \"sin cerrar\n");
    let error = Script::load(dir.path(), "es-CL").expect_err("invalid TOML");
    assert!(matches!(error, ScriptError::Toml { ref file, .. } if file.contains("es-CL")), "{error}");
}

/// Words that disclose a debt, in every language the scripts speak.
const DEBT_WORDS: [&str; 9] = ["deuda", "adeudo", "saldo", "pago", "pagar", "debt", "balance", "payment", "pay"];

#[test]
fn prompts_before_verification_never_mention_debt() {
    for locale in LOCALES {
        let script = Script::embedded(locale).expect("script");
        for prompt in Prompt::ALL.into_iter().filter(|prompt| prompt.said_before_verification()) {
            let text = script.render(prompt, &PromptValues::default()).to_lowercase();
            for word in DEBT_WORDS {
                let found = text.split(|c: char| !c.is_alphanumeric()).any(|token| token.starts_with(word));
                assert!(!found, "{locale} {prompt} mentions '{word}': {text}");
            }
        }
    }
}

#[test]
fn protected_prompts_come_from_the_file() {
    let spanish = Script::embedded("es-MX").expect("es-MX");
    assert!(spanish.is_protected(Prompt::Greeting));
    assert!(spanish.is_protected(Prompt::Disclosure));
    assert!(!spanish.is_protected(Prompt::StateDebt));
    let english = Script::embedded("en-US").expect("en-US");
    assert!(english.is_protected(Prompt::DebtCollectorNotice));
    assert!(!english.is_protected(Prompt::StateDebt));
}

#[test]
fn protected_list_of_a_locale_replaces_the_base() {
    let dir = prompts_dir_with("es-MX", "protected = [\"state_debt\"]\n");
    let script = Script::load(dir.path(), "es-MX").expect("valid");
    assert!(script.is_protected(Prompt::StateDebt));
    assert!(!script.is_protected(Prompt::Greeting));
}

#[test]
fn protected_must_list_prompt_keys() {
    let dir = prompts_dir_with("es-MX", "protected = \"greeting\"\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("not a list");
    assert!(matches!(error, ScriptError::ProtectedNotList { .. }), "{error}");
    let dir = prompts_dir_with("es-MX", "protected = [\"saludo\"]\n");
    let error = Script::load(dir.path(), "es-MX").expect_err("unknown key");
    assert!(matches!(error, ScriptError::UnknownPrompt { ref key, .. } if key == "saludo"), "{error}");
}

#[test]
fn value_ending_in_period_keeps_one_period() {
    let script = Script::embedded("en-US").expect("embedded script");
    let values = PromptValues {
        agency: "Collections Partners Inc.".into(),
        callback_time: "on Thursday, December 3 at 10 a.m.".into(),
        ..values()
    };
    assert_eq!(
        script.render(Prompt::WhoIsCalling, &values),
        "This is Sofía, a virtual assistant from Collections Partners Inc."
    );
    assert_eq!(
        script.render(Prompt::ThirdPartyCallbackAck, &values),
        "Thank you very much. We'll call again on Thursday, December 3 at 10 a.m. Goodbye."
    );
}
