//! Whole-turn readings: intent, amount, date and digits together, as the machine receives them.

use chrono::NaiveDate;

use super::*;
use crate::collections::model::Money;

/// Wednesday.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn read_as(text: &str, expecting: Expecting, currency: Currency) -> Interpretation {
    let ctx =
        InterpretContext { language: Language::Es, dialect: Dialect::Mexico, currency, today: today(), expecting };
    RuleInterpreter.interpret_now(text, &ctx)
}

fn read(text: &str, expecting: Expecting) -> Interpretation {
    read_as(text, expecting, Currency::Mxn)
}

fn intent(text: &str, expecting: Expecting) -> Intent {
    read(text, expecting).intent
}

fn pesos(major: i64) -> Option<AmountMention> {
    Some(AmountMention::Exact(Money::from_major(major, Currency::Mxn)))
}

#[test]
fn identity_answers() {
    assert_eq!(intent("Sí, soy yo.", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("sí, con él habla", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("Con ella habla", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("Yes, speaking.", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("Buenos días. Sí, soy yo.", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("sí", Expecting::Identity), Intent::Affirm);
    assert_eq!(intent("no, no soy yo", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("¿Quién habla?", Expecting::Identity), Intent::Greeting);
    assert_eq!(intent("Who is this?", Expecting::Identity), Intent::Greeting);
}

#[test]
fn wrong_person_answers() {
    assert_eq!(intent("No, se equivocó.", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("No vive aquí", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("número equivocado", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("No, está equivocado. Aquí no vive esa persona.", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("Wrong number", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("No, soy su esposa", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("no", Expecting::Identity), Intent::Deny);
}

#[test]
fn mistake_words_outside_identity_are_not_wrong_person() {
    let heard = read("no, se equivocó, es el lunes", Expecting::PromiseConfirmation);
    assert_eq!(heard.intent, Intent::Deny);
    assert_eq!(heard.date, Some(date(12, 7)));
}

#[test]
fn already_paid_answers() {
    assert_eq!(intent("Ya pagué", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("ya lo pagué la semana pasada", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("I already paid", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("ya cancelé la deuda", Expecting::PaymentOffer), Intent::AlreadyPaid);
}

#[test]
fn already_paid_dates_point_back() {
    let heard = read("ya pagué el lunes", Expecting::PaymentOffer);
    assert_eq!(heard.date, Some(date(11, 30)));
    let heard = read("pagué en el banco el lunes pasado", Expecting::PaymentDetails);
    assert_eq!(heard.date, Some(date(11, 30)));
    let heard = read("ya lo pagué la semana pasada", Expecting::PaymentOffer);
    assert_eq!(heard.date, None);
}

#[test]
fn hardship_beats_the_refusal_it_explains() {
    assert_eq!(intent("me quedé sin trabajo y no puedo pagar", Expecting::PaymentOffer), Intent::Hardship);
    assert_eq!(intent("estoy en el hospital", Expecting::PaymentOffer), Intent::Hardship);
    assert_eq!(intent("I lost my job", Expecting::PaymentOffer), Intent::Hardship);
}

#[test]
fn requests_for_other_terms_are_negotiation() {
    for said in ["¿me puede hacer un descuento?", "¿lo puedo pagar en cuotas?", "es mucho", "can you lower it"] {
        assert_eq!(intent(said, Expecting::PaymentOffer), Intent::Negotiate, "{said}");
    }
}

#[test]
fn short_answers_outside_the_debt() {
    let cases = [
        ("¿cómo?", Intent::AskRepeat),
        ("¿qué dijo?", Intent::AskRepeat),
        ("repita por favor", Intent::AskRepeat),
        ("sorry what", Intent::AskRepeat),
        ("hola", Intent::Greeting),
        ("¿bueno?", Intent::Greeting),
        ("aló", Intent::Greeting),
        ("adiós", Intent::Goodbye),
        ("tengo que colgar", Intent::Goodbye),
        ("bye", Intent::Goodbye),
        ("¿cuánto debo?", Intent::AskAmount),
        ("how much do I owe", Intent::AskAmount),
    ];
    for (said, expected) in cases {
        assert_eq!(intent(said, Expecting::Other), expected, "{said}");
    }
}

#[test]
fn insults_are_abusive() {
    assert_eq!(intent("usted es un idiota", Expecting::PaymentOffer), Intent::Abusive);
    assert_eq!(intent("go to hell", Expecting::PaymentOffer), Intent::Abusive);
}

#[test]
fn installments_count_and_total() {
    let heard = read("le pago en 3 cuotas de 500", Expecting::PaymentOffer);
    assert_eq!((heard.intent, heard.amount, heard.installments), (Intent::PromiseToPay, pesos(1_500), Some(3)));
    let heard = read("¿lo puedo pagar en tres cuotas?", Expecting::PaymentOffer);
    assert_eq!((heard.intent, heard.amount, heard.installments), (Intent::Negotiate, None, Some(3)));
    let heard = read("cuotas de 500", Expecting::PaymentOffer);
    assert_eq!((heard.intent, heard.amount, heard.installments), (Intent::Negotiate, None, None));
    assert_eq!(read("seis", Expecting::Installments).installments, Some(6));
}

#[test]
fn birth_date_answers_point_back() {
    let heard = read("quince del tres del ochenta y cinco", Expecting::BirthDate);
    assert_eq!(heard.date, NaiveDate::from_ymd_opt(1985, 3, 15));
    assert_eq!(heard.amount, None);
    assert_eq!(read("el 15", Expecting::BirthDate).date, None);
}

#[test]
fn expecting_names_round_trip() {
    for expecting in Expecting::ALL {
        assert_eq!(expecting.as_str().parse::<Expecting>(), Ok(expecting));
    }
    assert!("nothing".parse::<Expecting>().is_err());
}

#[test]
fn refusals() {
    assert_eq!(intent("No voy a pagar", Expecting::PaymentOffer), Intent::CannotPay);
    assert_eq!(intent("no tengo dinero", Expecting::PaymentOffer), Intent::CannotPay);
    assert_eq!(intent("I can't pay", Expecting::PaymentOffer), Intent::CannotPay);
}

#[test]
fn call_later_requests() {
    assert_eq!(intent("llámeme más tarde", Expecting::Identity), Intent::CallbackRequest);
    assert_eq!(intent("ahora no puedo", Expecting::Identity), Intent::CallbackRequest);
    assert_eq!(intent("estoy ocupado", Expecting::Identity), Intent::CallbackRequest);
    assert_eq!(
        intent("Ahora no puedo hablar. Llámeme más tarde, por favor.", Expecting::Identity),
        Intent::CallbackRequest
    );
    assert_eq!(intent("Call me later", Expecting::Identity), Intent::CallbackRequest);
}

#[test]
fn callback_day_is_read() {
    let heard = read("llámeme mañana", Expecting::Identity);
    assert_eq!(heard.intent, Intent::CallbackRequest);
    assert_eq!(heard.date, Some(date(12, 3)));
}

#[test]
fn stop_contact_and_human() {
    assert_eq!(intent("no me vuelvan a llamar", Expecting::PaymentOffer), Intent::StopContact);
    assert_eq!(intent("Stop calling me", Expecting::PaymentOffer), Intent::StopContact);
    assert_eq!(intent("quiero hablar con una persona", Expecting::PaymentOffer), Intent::AskHuman);
    assert_eq!(intent("Let me talk to a person", Expecting::PaymentOffer), Intent::AskHuman);
    assert_eq!(intent("Yo no debo nada", Expecting::PaymentOffer), Intent::Dispute);
}

#[test]
fn full_offer_with_amount_and_date() {
    let heard = read("Sí, voy a pagar el total, cuatro mil quinientos pesos, el viernes", Expecting::PaymentOffer);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, pesos(4_500));
    assert_eq!(heard.date, Some(date(12, 4)));
}

#[test]
fn half_offer_with_words_and_date() {
    let said = "puedo pagar la mitad, dos mil doscientos cincuenta pesos, el próximo lunes";
    let heard = read(said, Expecting::PaymentOffer);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, pesos(2_250));
    assert_eq!(heard.date, Some(date(12, 7)));
}

#[test]
fn partial_refusal_with_an_offer_is_an_offer() {
    let said = "No puedo pagar todo. Puedo pagar dos mil doscientos cincuenta pesos el próximo lunes.";
    let heard = read(said, Expecting::PaymentOffer);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, pesos(2_250));
}

#[test]
fn amounts_in_every_written_form() {
    for said in ["4.500", "4,500", "$4,500.00", "4500", "cuatro mil quinientos", "4500 pesos"] {
        assert_eq!(read(said, Expecting::Amount).amount, pesos(4_500), "{said}");
    }
    let dollars = Some(AmountMention::Exact(Money::from_major(1_500, Currency::Usd)));
    assert_eq!(read_as("fifteen hundred dollars", Expecting::Amount, Currency::Usd).amount, dollars);
    assert_eq!(read("la mitad", Expecting::Amount).amount, Some(AmountMention::Half));
    assert_eq!(read("el saldo completo", Expecting::Amount).amount, Some(AmountMention::FullBalance));
    assert_eq!(read("the full balance", Expecting::Amount).amount, Some(AmountMention::FullBalance));
}

#[test]
fn soles_and_pesos_follow_the_debt() {
    let heard = read_as("quinientos soles", Expecting::Amount, Currency::Pen);
    assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(500, Currency::Pen))));
    let heard = read_as("quinientos mil pesos", Expecting::Amount, Currency::Cop);
    assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(500_000, Currency::Cop))));
    let heard = read_as("un millón", Expecting::Amount, Currency::Clp);
    assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(1_000_000, Currency::Clp))));
}

#[test]
fn date_numbers_are_not_amounts() {
    let heard = read("el 15 de diciembre", Expecting::PaymentOffer);
    assert_eq!(heard.date, Some(date(12, 15)));
    assert_eq!(heard.amount, None);
    let heard = read("en una semana", Expecting::PaymentOffer);
    assert_eq!(heard.date, Some(date(12, 9)));
    assert_eq!(heard.amount, None);
}

#[test]
fn bare_day_answers_the_date_question() {
    assert_eq!(read("15", Expecting::Date).date, Some(date(12, 15)));
    assert_eq!(read("el quince", Expecting::Date).date, Some(date(12, 15)));
    assert_eq!(read("December 15th", Expecting::Date).date, Some(date(12, 15)));
    assert_eq!(read("15", Expecting::Amount).date, None);
}

#[test]
fn dates_in_the_brief() {
    let cases = [
        ("hoy", date(12, 2)),
        ("mañana", date(12, 3)),
        ("pasado mañana", date(12, 4)),
        ("el viernes", date(12, 4)),
        ("este viernes", date(12, 4)),
        ("el próximo viernes", date(12, 4)),
        ("el 15", date(12, 15)),
        ("el 15 de diciembre", date(12, 15)),
        ("el quince de diciembre", date(12, 15)),
        ("en una semana", date(12, 9)),
        ("today", date(12, 2)),
        ("tomorrow", date(12, 3)),
        ("next Friday", date(12, 4)),
        ("on Friday", date(12, 4)),
        ("December 15th", date(12, 15)),
    ];
    for (said, expected) in cases {
        assert_eq!(read(said, Expecting::Date).date, Some(expected), "{said}");
    }
}

#[test]
fn spoken_digits_only_when_asked() {
    for said in ["uno dos tres cuatro", "1234", "12 34", "Sí, 1, 2, 3, 4."] {
        assert_eq!(read(said, Expecting::VerificationDigits).digits.as_deref(), Some("1234"), "{said}");
    }
    assert_eq!(read("1234", Expecting::PaymentOffer).digits, None);
}

#[test]
fn read_back_answers() {
    assert_eq!(intent("sí, es correcto", Expecting::PromiseConfirmation), Intent::Affirm);
    assert_eq!(intent("Yes, that is correct.", Expecting::PromiseConfirmation), Intent::Affirm);
    assert_eq!(intent("no", Expecting::PromiseConfirmation), Intent::Deny);
    assert_eq!(intent("no sé", Expecting::PromiseConfirmation), Intent::Unknown);
}

#[test]
fn pay_later_is_a_promise_not_a_callback() {
    assert_eq!(intent("le pago más tarde", Expecting::PaymentOffer), Intent::PromiseToPay);
    assert_eq!(intent("más tarde", Expecting::Identity), Intent::CallbackRequest);
}

#[test]
fn language_is_detected_only_when_clear() {
    assert_eq!(read("Yes, this is she.", Expecting::Identity).language, Some(Language::En));
    assert_eq!(read("Sí, soy yo.", Expecting::Identity).language, Some(Language::Es));
    assert_eq!(read("okay", Expecting::Identity).language, None);
    assert_eq!(read("no", Expecting::Identity).language, None);
}

#[test]
fn language_asked_for_by_name_switches() {
    let heard =
        read("sorry, can we do this in English? I can pay two thousand pesos on Friday", Expecting::PaymentOffer);
    assert_eq!(heard.language, Some(Language::En));
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, pesos(2000));
    assert_eq!(heard.date, Some(date(12, 4)));
    assert_eq!(read("I can pay two thousand pesos on Friday", Expecting::PaymentOffer).language, Some(Language::En));
    assert_eq!(read("¿me puede hablar en español?", Expecting::PaymentOffer).language, Some(Language::Es));
}

#[test]
fn stop_contact_names_its_channel() {
    assert_eq!(stop_contact_channels("ya no me manden mensajes por whatsapp por favor"), ["whatsapp"]);
    assert_eq!(stop_contact_channels("no me manden más correos por favor"), ["email"]);
    assert_eq!(stop_contact_channels("and don't text me anymore"), ["sms"]);
    assert_eq!(stop_contact_channels("no me vuelvan a llamar"), ["voice"]);
    assert!(stop_contact_channels("no me molesten").is_empty());
    assert!(stop_contact_channels("mándeme el recibo por correo").is_empty());
}

#[test]
fn refusing_the_whole_balance_names_no_amount() {
    for text in ["no puedo pagar todo", "no, ahorita no puedo todo", "no, todo junto no", "todo no puedo"] {
        let heard = read(text, Expecting::OfferResponse);
        assert_eq!(heard.intent, Intent::CannotPay, "{text}");
        assert_eq!(heard.amount, None, "{text}");
    }
    let heard = read("no puedo pagar todo, pero le doy la mitad el viernes", Expecting::OfferResponse);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, Some(AmountMention::Half));
}

#[test]
fn bare_refusals_to_a_payment_question() {
    assert_eq!(intent("no sé, no tengo", Expecting::PaymentOffer), Intent::CannotPay);
    assert_eq!(intent("i can't", Expecting::PaymentOffer), Intent::CannotPay);
    assert_eq!(intent("no tengo", Expecting::VerificationDigits), Intent::Deny);
}

#[test]
fn amount_per_month_is_kept() {
    let heard = read_as("cien soles mensuales desde el viernes", Expecting::PaymentOffer, Currency::Pen);
    assert_eq!(heard.amount, Some(AmountMention::Exact(Money::from_major(100, Currency::Pen))));
    assert_eq!(heard.installments, None);
    assert_eq!(heard.date, Some(date(12, 4)));
    assert_eq!(read("cuotas de 500", Expecting::Other).amount, None);
}

#[test]
fn first_name_confirms_identity() {
    assert_eq!(intent("this is robert", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("sí, soy Carmen", Expecting::Identity), Intent::IdentityConfirm);
    assert_eq!(intent("this is his wife", Expecting::Identity), Intent::WrongPerson);
    assert_eq!(intent("this is robert", Expecting::Other), Intent::Unknown);
}

#[test]
fn bueno_agrees_only_to_open_terms() {
    assert_eq!(intent("bueno", Expecting::OfferResponse), Intent::Affirm);
    assert_eq!(intent("bueno pues", Expecting::PromiseConfirmation), Intent::Affirm);
    assert_eq!(intent("¿bueno?", Expecting::OfferResponse), Intent::Greeting);
    assert_eq!(intent("¿bueno?", Expecting::Identity), Intent::Greeting);
    assert_eq!(intent("bueno", Expecting::Identity), Intent::Greeting);
    assert_eq!(intent("hágale pues", Expecting::OfferResponse), Intent::Affirm);
}

#[test]
fn paid_off_and_paz_y_salvo() {
    assert_eq!(intent("ese préstamo ya lo cancelé el mes pasado", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("esa deuda la cancelé en octubre", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("quiero que lo cancele hoy", Expecting::Other), Intent::Unknown);
    let heard = read_as("le doy un millón el viernes y quedamos a paz y salvo", Expecting::PaymentOffer, Currency::Cop);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.date, Some(date(12, 4)));
    assert_eq!(intent("ya estoy a paz y salvo", Expecting::PaymentOffer), Intent::AlreadyPaid);
}

#[test]
fn expecting_follows_question_keys() {
    assert_eq!(Expecting::from_prompt_key("greeting"), Expecting::Identity);
    assert_eq!(Expecting::from_prompt_key("verification_retry"), Expecting::VerificationDigits);
    assert_eq!(Expecting::from_prompt_key("read_back"), Expecting::PromiseConfirmation);
    assert_eq!(Expecting::from_prompt_key("goodbye"), Expecting::Other);
}

#[tokio::test]
async fn trait_object_reads_like_the_rules() {
    let interpreter: &dyn Interpreter = &RuleInterpreter;
    let ctx = InterpretContext {
        language: Language::Es,
        dialect: Dialect::Mexico,
        currency: Currency::Mxn,
        today: today(),
        expecting: Expecting::Identity,
    };
    assert_eq!(interpreter.interpret("sí, soy yo", &ctx).await.intent, Intent::IdentityConfirm);
}

#[test]
fn whisper_style_transcripts() {
    let heard = read("Si. Voy a pagar el total. 4,500 pesos. El viernes.", Expecting::PaymentOffer);
    assert_eq!((heard.intent, heard.amount, heard.date), (Intent::PromiseToPay, pesos(4_500), Some(date(12, 4))));

    let heard = read("Puedo pagar 2.250 pesos el proximo lunes", Expecting::PaymentOffer);
    assert_eq!((heard.intent, heard.amount, heard.date), (Intent::PromiseToPay, pesos(2_250), Some(date(12, 7))));

    let heard = read("4 mil 500 el 15 de diciembre", Expecting::PaymentOffer);
    assert_eq!((heard.amount, heard.date), (pesos(4_500), Some(date(12, 15))));

    assert_eq!(intent("Ya pague.", Expecting::PaymentOffer), Intent::AlreadyPaid);
    assert_eq!(intent("Llameme mas tarde.", Expecting::Identity), Intent::CallbackRequest);
    assert_eq!(intent("SI, SOY YO", Expecting::Identity), Intent::IdentityConfirm);
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    const DIALECTS: [(Dialect, Currency); 7] = [
        (Dialect::Mexico, Currency::Mxn),
        (Dialect::Colombia, Currency::Cop),
        (Dialect::Peru, Currency::Pen),
        (Dialect::Chile, Currency::Clp),
        (Dialect::Argentina, Currency::Ars),
        (Dialect::UnitedStates, Currency::Usd),
        (Dialect::Neutral, Currency::Mxn),
    ];

    fn expecting() -> impl Strategy<Value = Expecting> {
        prop::sample::select(Expecting::ALL.to_vec())
    }

    fn dialect() -> impl Strategy<Value = (Dialect, Currency)> {
        prop::sample::select(DIALECTS.to_vec())
    }

    fn read_in(text: &str, expecting: Expecting, (dialect, currency): (Dialect, Currency)) -> Interpretation {
        let language = if dialect == Dialect::UnitedStates { Language::En } else { Language::Es };
        let ctx = InterpretContext { language, dialect, currency, today: today(), expecting };
        RuleInterpreter.interpret_now(text, &ctx)
    }

    /// Dates of a payment already made and dates of birth point back; every other date is a
    /// payment or a call to come.
    fn points_back(heard: &Interpretation, expecting: Expecting) -> bool {
        heard.intent == Intent::AlreadyPaid || matches!(expecting, Expecting::PaymentDetails | Expecting::BirthDate)
    }

    /// Text made of the words the interpreter looks for, in any order, with noise between them.
    fn wordy_text() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "el",
            "de",
            "la",
            "mil",
            "millones",
            "y",
            "con",
            "pesos",
            "viernes",
            "próximo",
            "pasado",
            "mañana",
            "15",
            "4.500",
            "1",
            "500",
            "000",
            "$",
            "%",
            "diciembre",
            "en",
            "una",
            "semana",
            "ya",
            "pagué",
            "no",
            "sí",
            "hace",
            "días",
            "meses",
            "mes",
            "the",
            "a",
            "hundred",
            "thousand",
            "dollars",
            "next",
            "and",
            "¿",
            "!",
            "quinientos",
            "veinte",
            "treinta",
            "fin",
            "mes",
            "quincena",
            "cuotas",
            "de",
            "lucas",
            "palos",
            "medio",
            "y",
            "media",
            "ni",
            "un",
            "al",
            "month",
            "del",
            "ochenta",
            "nineteen",
            "marzo",
            "1.500,50",
            "-",
            "menos",
            "99999999999999999999",
            "9223372036854775807",
            "pagos",
            "of",
        ]);
        prop::collection::vec(words, 0..14).prop_map(|words| words.join(" "))
    }

    /// Writes `minor` units as a caller's transcript would in that country: "1.234.567,89" in
    /// Colombia, Chile and Argentina, "1,234,567.89" in Mexico, Peru and the United States.
    fn format_amount(minor: i64, currency: Currency, dialect: Dialect) -> String {
        let (group, decimal) = match dialect {
            Dialect::Colombia | Dialect::Chile | Dialect::Argentina => ('.', ','),
            _ => (',', '.'),
        };
        let per_major = currency.minor_per_major();
        let digits = (minor / per_major).to_string();
        let mut text = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                text.push(group);
            }
            text.push(digit);
        }
        if currency.exponent() > 0 {
            text.push(decimal);
            text.push_str(&format!("{:02}", minor % per_major));
        }
        text
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panic(text in any::<String>(), expecting in expecting(), dialect in dialect()) {
            let heard = read_in(&text, expecting, dialect);
            if let (Some(found), false) = (heard.date, points_back(&heard, expecting)) {
                prop_assert!(found >= today());
            }
        }

        #[test]
        fn payment_dates_are_never_before_today(text in wordy_text(), expecting in expecting(), dialect in dialect()) {
            let heard = read_in(&text, expecting, dialect);
            if let (Some(found), false) = (heard.date, points_back(&heard, expecting)) {
                prop_assert!(found >= today(), "{text} gave {found}");
            }
        }

        #[test]
        fn amounts_are_never_negative(text in wordy_text(), expecting in expecting(), dialect in dialect()) {
            let heard = read_in(&text, expecting, dialect);
            if let Some(AmountMention::Exact(money)) = heard.amount {
                prop_assert!(money.amount_minor >= 0, "{text} gave {money:?}");
            }
        }

        #[test]
        fn amounts_in_the_country_format_read_back(minor in 1i64..100_000_000_000, dialect in dialect()) {
            let (dialect, currency) = dialect;
            let written = format_amount(minor, currency, dialect);
            for said in [written.clone(), format!("${written}"), format!("puedo pagar {written} el viernes")] {
                let heard = read_in(&said, Expecting::Amount, (dialect, currency));
                let expected = Some(AmountMention::Exact(Money::new(minor, currency)));
                prop_assert_eq!(heard.amount, expected, "{}", said);
            }
        }
    }

    #[test]
    fn country_formats_of_one_amount() {
        assert_eq!(format_amount(123_456_789, Currency::Cop, Dialect::Colombia), "1.234.567,89");
        assert_eq!(format_amount(123_456_789, Currency::Mxn, Dialect::Mexico), "1,234,567.89");
        assert_eq!(format_amount(1_234_567, Currency::Clp, Dialect::Chile), "1.234.567");
        assert_eq!(format_amount(5, Currency::Usd, Dialect::UnitedStates), "0.05");
    }
}

#[test]
fn past_payment_verb_with_amount_is_already_paid() {
    let heard = read("Deposité 300 el lunes en el Oxxo", Expecting::Other);
    assert_eq!(heard.intent, Intent::AlreadyPaid);
    assert_eq!(heard.amount, pesos(300));
    assert_eq!(heard.date, Some(date(11, 30)));

    let heard = read("I sent 250 on Monday", Expecting::Other);
    assert_eq!(heard.intent, Intent::AlreadyPaid);
    assert_eq!(heard.date, Some(date(11, 30)));
}

#[test]
fn subjunctive_payment_verb_is_not_a_payment_made() {
    let heard = read("quiere que le deposite 500 el viernes", Expecting::Other);
    assert_ne!(heard.intent, Intent::AlreadyPaid);
    assert_eq!(heard.date, Some(date(12, 4)));
    assert_ne!(intent("cuando le deposite el viernes le aviso", Expecting::Other), Intent::AlreadyPaid);
}

#[test]
fn turn_phrasings_outside_the_corpus() {
    let cases = [
        ("ya no me sigan marcando", Intent::StopContact),
        ("Lose my number.", Intent::StopContact),
        ("se cayó la llamada, ¿qué me estaba diciendo?", Intent::AskRepeat),
        ("you cut out, what were you saying?", Intent::AskRepeat),
        ("¿de dónde me están llamando?", Intent::Greeting),
        ("what is this regarding", Intent::Greeting),
        ("me regala con un asesor", Intent::AskHuman),
        ("get me customer service", Intent::AskHuman),
        ("nunca he solicitado ese crédito", Intent::Dispute),
        ("bueno, que le vaya bien", Intent::Goodbye),
        ("alright, take care", Intent::Goodbye),
        ("son unos estafadores", Intent::Abusive),
        ("sí pues, con él", Intent::IdentityConfirm),
    ];
    for (text, expected) in cases {
        assert_eq!(intent(text, Expecting::Other), expected, "{text}");
    }
}

#[test]
fn spoken_compound_ordinal_is_a_day() {
    assert_eq!(read("on the twenty sixth", Expecting::Date).date, Some(date(12, 26)));
    assert_eq!(read("December thirty-first", Expecting::Date).date, Some(date(12, 31)));
}

#[test]
fn months_in_a_plan_are_installments_not_a_date() {
    let heard = read("¿me lo dejan en pagos? como en doce meses", Expecting::Other);
    assert_eq!(heard.intent, Intent::Negotiate);
    assert_eq!(heard.installments, Some(12));
    assert_eq!(heard.date, None);
    assert_eq!(read("le pago en 6 meses", Expecting::Other).installments, None);
}

#[test]
fn amount_split_into_payments_is_a_promise() {
    let heard = read("I could do 600, split into three payments.", Expecting::Other);
    assert_eq!(heard.intent, Intent::PromiseToPay);
    assert_eq!(heard.amount, pesos(600));
    assert_eq!(heard.installments, Some(3));
}
