// The supervisor console of cobranza: one page without a build step. It renders the view of the
// hash route into #view, reads JSON from /console/api and live updates from /console/ws. Every
// visible string comes from MESSAGES, and data from the server is inserted as text, never as HTML.
"use strict";

(function () {
  // ---------------------------------------------------------------------------------------------
  // Dictionary
  // ---------------------------------------------------------------------------------------------

  const MESSAGES = {
    es: {
      app_name: "Cobranza · Consola de supervisión",
      language_switch: "English",
      language_switch_hint: "Cambiar el idioma de la consola a inglés",
      logout: "Cerrar sesión",
      nav_label: "Secciones",
      nav: {
        board: "Tablero en vivo",
        history: "Historial",
        promises: "Promesas",
        campaigns: "Campañas",
        kpis: "Indicadores",
        audit: "Auditoría",
      },
      title: {
        board: "Llamadas en curso",
        call: "Llamada {id}",
        history: "Historial de llamadas",
        promises: "Promesas de pago",
        campaigns: "Campañas",
        kpis: "Indicadores",
        debtor: "Deudor {id}",
        audit: "Registro de auditoría",
        not_found: "Página no encontrada",
      },
      role: { admin: "administrador", supervisor: "supervisor", auditor: "auditor" },
      login_title: "Iniciar sesión",
      login_username: "Usuario",
      login_password: "Contraseña",
      login_submit: "Entrar",
      login_busy: "Verificando…",
      login_failed: "Usuario o contraseña incorrectos.",
      login_too_many: "Demasiados intentos fallidos. Vuelva a intentar en {seconds} s.",
      login_token_rejected: "El formulario de acceso caducó. Recargue la página y vuelva a intentar.",
      session_expired: "La sesión terminó. Inicie sesión de nuevo.",
      error_network: "No se pudo contactar al servidor: {detail}",
      error_http: "El servidor respondió con el estado HTTP {status}.",
      not_found_text: "La dirección {hash} no corresponde a ninguna sección.",
      loading: "Cargando…",
      none: "—",
      not_available: "n/d",
      yes: "Sí",
      no: "No",
      seconds_unit: "{value} s",
      ms_unit: "{value} ms",
      direction: { outbound: "Saliente", inbound: "Entrante" },
      board_count_label: "llamadas en el tablero",
      board_count_label_one: "llamada en el tablero",
      board_filter: "Filtrar",
      board_filter_placeholder: "Deudor, teléfono, campaña, estado, nodo…",
      board_live: "Conectado",
      board_connecting: "Conectando…",
      board_reconnecting: "Conexión perdida. Reintento en {seconds} s…",
      board_empty: "No hay llamadas en curso.",
      board_no_match: "Ninguna llamada coincide con el filtro.",
      col: {
        attempt: "Intento",
        debtor: "Deudor",
        phone: "Teléfono",
        country: "País",
        campaign: "Campaña",
        direction: "Sentido",
        state: "Estado",
        started: "Inicio",
        ended: "Fin",
        duration: "Duración",
        latency: "Latencia",
        node: "Nodo",
        disposition: "Resultado",
        rpc: "Titular verificado",
        recording: "Grabación",
        promise: "Promesa",
        account: "Cuenta",
        amount: "Monto",
        due_date: "Vencimiento",
        status: "Estado",
        follow_up: "Próximo seguimiento",
        progress: "Avance",
        waiting: "En espera",
        due: "Pendientes ahora",
        dialing: "Marcando",
        attempts: "Intentos",
        outcomes: "Resultados",
        skips: "Omitidos por la política",
        actions: "Acciones",
        at: "Fecha y hora",
        user: "Usuario",
        action: "Acción",
        target: "Objeto",
        detail: "Detalle",
        turn: "Turno",
        total: "Total",
        creditor: "Acreedor",
        product: "Producto",
        balance: "Saldo",
        days_past_due: "Días de atraso",
        channel: "Canal",
        count: "Cantidad",
        reason: "Motivo",
        month: "Mes de asignación",
        currency: "Moneda",
        debts: "Deudas",
        placed: "Asignado",
        bucket: "Tramo de atraso",
        from_month: "Mes inicial",
        to_month: "Mes siguiente",
        from_bucket: "Desde el tramo",
        to_bucket: "Hacia el tramo",
        characteristic: "Característica",
        bin: "Rango",
        points: "Puntos",
        points_below_best: "Puntos bajo el mejor rango",
      },
      call_debtor: "Deudor",
      call_sid: "Identificador del operador",
      call_live: "En curso",
      call_state_unknown: "Esperando estado…",
      call_transcript: "Transcripción",
      call_transcript_empty: "Todavía no hay líneas.",
      call_promise_none: "Sin promesa de pago.",
      call_latency: "Latencia por turno",
      call_latency_hint: "Cada barra es un turno, medido desde que el deudor terminó de hablar.",
      call_latency_empty: "Todavía no hay turnos medidos.",
      call_turns: "Métricas por turno",
      call_recording: "Grabación",
      call_no_recording: "Esta llamada no tiene grabación.",
      call_recording_live: "La grabación estará disponible cuando termine la llamada.",
      call_connection_lost: "Se perdió la conexión en vivo con la llamada. Reintentando…",
      call_connection_failed: "No se pudo seguir la llamada en vivo. Recargue la página para intentar de nuevo.",
      speaker: { bot: "Bot", debtor: "Deudor" },
      line_heard: "escuchada",
      line_cut: "cortada por el deudor",
      line_interim: "transcribiendo…",
      listen: "Escuchar",
      listen_stop: "Dejar de escuchar",
      listen_closed: "La escucha terminó.",
      listen_audio_failed: "El navegador no pudo reproducir audio: {detail}",
      transfer: "Transferir a un agente",
      end: "Terminar la llamada",
      transfer_requested: "Transferencia solicitada: la llamada pasará al número de atención humana.",
      end_requested: "Se pidió al bot despedirse y colgar.",
      stage: {
        final_transcript_ms: "Transcripción final",
        decision_ms: "Decisión del diálogo",
        first_audio_ms: "Primer audio sintetizado",
        first_frame_ms: "Primer paquete enviado",
        first_mark_ms: "Primera frase reproducida",
      },
      promise_amount: "Monto",
      promise_due: "Fecha de pago",
      promise_installments: "Cuotas",
      promise_installment: "{amount} el {date}",
      history_debtor: "ID del deudor",
      history_phone: "Teléfono (dígitos)",
      history_from: "Desde",
      history_to: "Hasta",
      history_campaign: "Campaña",
      history_disposition: "Resultado",
      history_limit: "Máximo de filas",
      history_any: "Cualquiera",
      history_search: "Buscar",
      history_clear: "Limpiar",
      history_count: "{count} llamadas",
      history_empty: "Ninguna llamada coincide con la búsqueda.",
      history_recording_yes: "Sí",
      promises_tab: { due: "Vencen hoy", broken: "Incumplidas", kept: "Cumplidas" },
      promises_empty: "No hay promesas en esta lista.",
      promises_follow_up_none: "Sin seguimiento programado",
      promise_status: {
        open: "Abierta",
        kept: "Cumplida",
        kept_late: "Cumplida con atraso",
        partly_kept: "Cumplida en parte",
        broken: "Incumplida",
      },
      campaign_status: { draft: "Borrador", running: "En marcha", paused: "En pausa", stopped: "Detenida" },
      campaign_pause: "Pausar",
      campaign_resume: "Reanudar",
      campaign_stop: "Detener",
      campaign_done: "{done} de {targets} terminadas",
      campaign_settings: "Hasta {calls} llamadas a la vez, {rate} por segundo",
      campaign_countries: "Países: {countries}",
      campaign_updated: "Campaña {name}: {status}.",
      campaigns_empty: "No hay campañas.",
      campaigns_refreshed: "Actualizado a las {time}",
      list_none: "Ninguno",
      kpi_from: "Desde (UTC)",
      kpi_to: "Hasta (UTC)",
      kpi_country: "País",
      kpi_all_countries: "Todos",
      kpi_by: "Serie",
      kpi_by_day: "Por día",
      kpi_by_hour: "Por hora del día",
      kpi_show: "Mostrar",
      kpi_range: "Del {from} al {to}, días en UTC",
      kpi_funnel: "Embudo",
      kpi_funnel_note:
        "Las promesas cumplidas son las que vencían en el periodo y ya se resolvieron; no son necesariamente las promesas obtenidas en él.",
      kpi_calls: "Llamadas",
      kpi_series: "Serie de tiempo",
      kpi_series_counts: "Volumen",
      kpi_series_rates: "Tasas",
      kpi_series_data: "Ver los datos de la serie",
      kpi_series_none: "El informe no trae serie de tiempo.",
      kpi_by_country: "Por país",
      kpi_by_country_note: "Una consulta por país; se omiten los países sin llamadas en el periodo.",
      kpi_by_country_none: "Ningún país tuvo llamadas en el periodo.",
      kpi_by_country_single: "El filtro ya limita el informe a un país.",
      kpi_recovery: "Recuperación y costo",
      kpi_cohorts: "Recuperación por mes de asignación",
      kpi_cohorts_none: "No hay deudas asignadas en el periodo.",
      kpi_horizon: "{days} días",
      kpi_horizon_open: "el plazo aún no vence",
      kpi_roll_rates: "Tasas de rodamiento",
      kpi_roll_rates_none: "Sin deudas en los tramos para estos meses.",
      kpi_aging: "Antigüedad de saldos al último día",
      kpi_compliance: "Cumplimiento normativo",
      kpi_compliance_none: "El informe no trae contadores de cumplimiento.",
      kpi_policy_skips: "Deudores omitidos por la política de contacto",
      kpi_policy_skips_none: "Ningún deudor fue omitido.",
      kpi_unconverted: "Sin tipo de cambio a USD para {currencies}; el costo por dólar no se calcula.",
      kpi_per_thousand: "{value} por cada 1000",
      kpi_cost_per_dollar: "{value} por dólar cobrado",
      kpi_rate_detail: "{numerator} de {denominator} {name}",
      kpi_rate_of: "de {name}",
      kpi: {
        dials: "Marcaciones",
        inbound_calls: "Llamadas entrantes",
        connects: "Conectadas",
        contacts: "Contactos",
        right_party_contacts: "Contactos con el titular",
        promises: "Promesas obtenidas",
        kept: "Promesas cumplidas",
        connect_rate: "Tasa de conexión",
        contact_rate: "Tasa de contacto",
        right_party_contact_rate: "Tasa de contacto con el titular",
        promise_to_pay_rate: "Tasa de promesa de pago",
        promise_kept_rate: "Tasa de cumplimiento de promesas",
        promise_kept_amount_rate: "Monto cumplido de lo prometido",
        broken_promises: "Promesas incumplidas",
        amount_promised: "Monto prometido",
        amount_collected: "Monto cobrado",
        total_cost: "Costo total de las llamadas",
        cost_per_call: "Costo por llamada",
        cost_per_promise: "Costo por promesa",
        cost_to_collect: "Costo de cobranza",
        handled_calls: "Llamadas atendidas",
        average_handle_seconds: "Duración media de las atendidas",
        cure_rate: "Tasa de normalización",
        outbound_attempts: "Intentos salientes",
        outside_window: "Fuera del horario legal",
        outside_window_rate: "Proporción fuera del horario legal",
        cap_breaches: "Excesos de tope de intentos",
        cap_breaches_per_thousand_debts: "Excesos por cada 1000 deudas intentadas",
        debts_attempted: "Deudas intentadas",
        voice_opt_outs: "Solicitudes de no contacto por voz",
        opt_outs_called_after: "Solicitudes llamadas después",
        opt_outs_called_after_rate: "Proporción llamada después de la solicitud",
        attempts_after_opt_out: "Intentos después de la solicitud",
        max_seconds_to_last_attempt: "Tiempo máximo hasta el último intento",
        mean_seconds_to_last_attempt: "Tiempo medio hasta el último intento",
      },
      denominator: {
        dials: "marcaciones",
        "right-party contacts": "contactos con el titular",
        "promises due and settled": "promesas vencidas y resueltas",
        "debts past due at the start": "deudas vencidas al inicio",
        placed: "asignado",
        promised: "prometido",
        "outbound attempts": "intentos salientes",
        "voice opt-outs": "solicitudes de no contacto por voz",
        "debts attempted": "deudas intentadas",
        calls: "llamadas",
        promises: "promesas",
        "debts in the bucket": "deudas en el tramo",
        "in the bucket": "en el tramo",
      },
      aging_bucket: { current: "Al día", "181+": "181 o más días" },
      aging_days: "{label} días",
      debtor_details: "Datos del deudor",
      debtor_name: "Nombre",
      debtor_phone: "Teléfono",
      debtor_country: "País",
      debtor_region: "Región",
      debtor_locale: "Idioma",
      debtor_time_zone: "Zona horaria",
      debtor_national_id: "Documento (últimos 4)",
      debtor_birth_date: "Fecha de nacimiento",
      debtor_postal_code: "Código postal",
      debtor_consent: "Consentimiento para llamadas",
      debtor_channels: "Canales autorizados",
      debtor_debts: "Deudas",
      debtor_score: "Puntaje de pago",
      debtor_score_none: "El deudor aún no tiene puntaje.",
      debtor_probability: "Probabilidad de pago",
      debtor_points: "Puntos",
      debtor_segment: "Segmento",
      debtor_strategy: "Estrategia",
      debtor_expected_value: "Valor esperado de una llamada",
      debtor_model: "Modelo",
      debtor_scored_at: "Calculado",
      debtor_as_of: "Datos al",
      debtor_reasons: "Lo que más le resta puntos",
      debtor_contacts: "Historial de contactos",
      debtor_promises: "Promesas",
      debtor_opt_outs: "Solicitudes de no contacto",
      debtor_opt_outs_none: "Sin solicitudes de no contacto.",
      debtor_none: "Sin registros.",
      audit_limit: "Últimas entradas",
      audit_filter: "Filtrar",
      audit_filter_placeholder: "Usuario, acción, objeto…",
      audit_empty: "No hay entradas.",
      audit_count: "{shown} de {total} entradas",
      disposition: {
        promise_to_pay: "Promesa de pago",
        already_paid: "Dice que ya pagó",
        refused_to_pay: "Se niega a pagar",
        disputed: "Desconoce la deuda",
        hardship: "Dificultad económica",
        callback_requested: "Pidió otra llamada",
        third_party: "Atendió un tercero",
        wrong_number: "Número equivocado",
        verification_failed: "Verificación fallida",
        right_party_no_commitment: "Titular sin compromiso",
        no_response: "Sin respuesta",
        not_understood: "No se entendieron las respuestas",
        hung_up: "Colgó",
        stop_contact: "Pidió no ser contactado",
        transferred: "Transferida a un agente",
        voicemail_left: "Mensaje en buzón de voz",
        abusive: "Trato abusivo",
        store_failed: "Falló el guardado del resultado",
        technical_failure: "Falla técnica",
        speech_unavailable: "Reconocimiento de voz no disponible",
        busy: "Ocupado",
        no_answer: "No contestó",
        call_failed: "No se pudo marcar",
        unidentified_caller: "Llamante no identificado",
      },
      audit_action: {
        login: "Ingreso",
        login_failed: "Ingreso fallido",
        login_refused: "Ingreso bloqueado",
        logout: "Salida",
        listen_in: "Escucha",
        transfer: "Transferencia",
        end_call: "Llamada finalizada",
        play_recording: "Grabación reproducida",
        campaign_pause: "Campaña pausada",
        campaign_resume: "Campaña reanudada",
        campaign_stop: "Campaña detenida",
      },
      refusal: {
        no_jurisdiction: "País sin reglas de contacto",
        no_call_consent: "Sin consentimiento para llamadas",
        channel_not_authorised: "Canal no autorizado",
        opted_out: "Pidió no ser contactado por este canal",
        do_not_call: "En la lista de no llamar",
        dispute_open: "Disputa abierta",
        callback_scheduled: "Tiene una llamada acordada",
        quiet_after_conversation: "Conversación reciente",
        channel_locked_after_contact: "Canal de la semana ya fijado",
        cap_per_debt: "Tope de intentos por deuda",
        cap_per_debtor: "Tope de contactos por deudor",
        holiday: "Día feriado",
        day_closed: "Día sin horario de llamadas",
        outside_hours: "Fuera del horario permitido",
      },
      state: {
        dialing: "Marcando",
        ringing: "Timbrando",
        connecting: "Conectando",
        in_progress: "En curso",
        not_started: "Sin iniciar",
        confirming_identity: "Confirmando identidad",
        asking_third_party_time: "Preguntando a un tercero cuándo llamar",
        verifying: "Verificando identidad",
        offering: "Ofreciendo condiciones",
        negotiating: "Negociando",
        asking_payment: "Pidiendo una propuesta de pago",
        asking_amount: "Pidiendo el monto",
        asking_date: "Pidiendo la fecha",
        asking_offer_date: "Pidiendo el día de pago",
        reading_back: "Confirmando el acuerdo",
        asking_payment_details: "Pidiendo datos del pago",
        offering_hardship: "Ofreciendo ayuda por dificultad",
        offering_keypad_callback: "Ofreciendo otra llamada por teclado",
        storing_promise: "Guardando la promesa",
        storing_outcome: "Guardando el resultado",
        transferring: "Transfiriendo",
        ended: "Terminada",
      },
    },

    en: {
      app_name: "Cobranza · Supervisor console",
      language_switch: "Español",
      language_switch_hint: "Switch the console to Spanish",
      logout: "Sign out",
      nav_label: "Sections",
      nav: {
        board: "Live board",
        history: "History",
        promises: "Promises",
        campaigns: "Campaigns",
        kpis: "KPIs",
        audit: "Audit log",
      },
      title: {
        board: "Calls in progress",
        call: "Call {id}",
        history: "Call history",
        promises: "Promises to pay",
        campaigns: "Campaigns",
        kpis: "KPIs",
        debtor: "Debtor {id}",
        audit: "Audit log",
        not_found: "Page not found",
      },
      role: { admin: "admin", supervisor: "supervisor", auditor: "auditor" },
      login_title: "Sign in",
      login_username: "Username",
      login_password: "Password",
      login_submit: "Sign in",
      login_busy: "Checking…",
      login_failed: "Wrong username or password.",
      login_too_many: "Too many failed attempts. Try again in {seconds} s.",
      login_token_rejected: "The sign-in form expired. Reload the page and try again.",
      session_expired: "Your session ended. Sign in again.",
      error_network: "Could not reach the server: {detail}",
      error_http: "The server returned HTTP status {status}.",
      not_found_text: "The address {hash} matches no section.",
      loading: "Loading…",
      none: "—",
      not_available: "n/a",
      yes: "Yes",
      no: "No",
      seconds_unit: "{value} s",
      ms_unit: "{value} ms",
      direction: { outbound: "Outbound", inbound: "Inbound" },
      board_count_label: "calls on the board",
      board_count_label_one: "call on the board",
      board_filter: "Filter",
      board_filter_placeholder: "Debtor, phone, campaign, state, node…",
      board_live: "Connected",
      board_connecting: "Connecting…",
      board_reconnecting: "Connection lost. Retrying in {seconds} s…",
      board_empty: "No calls in progress.",
      board_no_match: "No call matches the filter.",
      col: {
        attempt: "Attempt",
        debtor: "Debtor",
        phone: "Phone",
        country: "Country",
        campaign: "Campaign",
        direction: "Direction",
        state: "State",
        started: "Started",
        ended: "Ended",
        duration: "Duration",
        latency: "Latency",
        node: "Node",
        disposition: "Disposition",
        rpc: "Right-party contact",
        recording: "Recording",
        promise: "Promise",
        account: "Account",
        amount: "Amount",
        due_date: "Due date",
        status: "Status",
        follow_up: "Next follow-up",
        progress: "Progress",
        waiting: "Waiting",
        due: "Due now",
        dialing: "Dialing",
        attempts: "Attempts",
        outcomes: "Dispositions",
        skips: "Skipped by policy",
        actions: "Actions",
        at: "Date and time",
        user: "User",
        action: "Action",
        target: "Target",
        detail: "Detail",
        turn: "Turn",
        total: "Total",
        creditor: "Creditor",
        product: "Product",
        balance: "Balance",
        days_past_due: "Days past due",
        channel: "Channel",
        count: "Count",
        reason: "Reason",
        month: "Placement month",
        currency: "Currency",
        debts: "Debts",
        placed: "Placed",
        bucket: "Aging bucket",
        from_month: "From month",
        to_month: "Next month",
        from_bucket: "From bucket",
        to_bucket: "To bucket",
        characteristic: "Characteristic",
        bin: "Bin",
        points: "Points",
        points_below_best: "Points below the best bin",
      },
      call_debtor: "Debtor",
      call_sid: "Carrier call id",
      call_live: "In progress",
      call_state_unknown: "Waiting for the state…",
      call_transcript: "Transcript",
      call_transcript_empty: "No lines yet.",
      call_promise_none: "No promise to pay.",
      call_latency: "Latency per turn",
      call_latency_hint: "Each bar is one turn, measured from the end of the debtor's speech.",
      call_latency_empty: "No turns measured yet.",
      call_turns: "Per-turn metrics",
      call_recording: "Recording",
      call_no_recording: "This call has no recording.",
      call_recording_live: "The recording will be available once the call ends.",
      call_connection_lost: "The live connection to the call was lost. Retrying…",
      call_connection_failed: "The call could not be followed live. Reload the page to try again.",
      speaker: { bot: "Bot", debtor: "Debtor" },
      line_heard: "heard",
      line_cut: "cut by barge-in",
      line_interim: "transcribing…",
      listen: "Listen in",
      listen_stop: "Stop listening",
      listen_closed: "Listen-in ended.",
      listen_audio_failed: "The browser could not play audio: {detail}",
      transfer: "Transfer to an agent",
      end: "End the call",
      transfer_requested: "Transfer requested: the call will go to the human agents' number.",
      end_requested: "The bot was asked to say goodbye and hang up.",
      stage: {
        final_transcript_ms: "Final transcript",
        decision_ms: "Dialog decision",
        first_audio_ms: "First synthesized audio",
        first_frame_ms: "First frame sent",
        first_mark_ms: "First phrase played",
      },
      promise_amount: "Amount",
      promise_due: "Payment date",
      promise_installments: "Installments",
      promise_installment: "{amount} on {date}",
      history_debtor: "Debtor ID",
      history_phone: "Phone (digits)",
      history_from: "From",
      history_to: "To",
      history_campaign: "Campaign",
      history_disposition: "Disposition",
      history_limit: "Maximum rows",
      history_any: "Any",
      history_search: "Search",
      history_clear: "Clear",
      history_count: "{count} calls",
      history_empty: "No call matches the search.",
      history_recording_yes: "Yes",
      promises_tab: { due: "Due today", broken: "Broken", kept: "Kept" },
      promises_empty: "No promises in this list.",
      promises_follow_up_none: "No follow-up scheduled",
      promise_status: {
        open: "Open",
        kept: "Kept",
        kept_late: "Kept late",
        partly_kept: "Partly kept",
        broken: "Broken",
      },
      campaign_status: { draft: "Draft", running: "Running", paused: "Paused", stopped: "Stopped" },
      campaign_pause: "Pause",
      campaign_resume: "Resume",
      campaign_stop: "Stop",
      campaign_done: "{done} of {targets} done",
      campaign_settings: "Up to {calls} calls at once, {rate} per second",
      campaign_countries: "Countries: {countries}",
      campaign_updated: "Campaign {name}: {status}.",
      campaigns_empty: "No campaigns.",
      campaigns_refreshed: "Updated at {time}",
      list_none: "None",
      kpi_from: "From (UTC)",
      kpi_to: "To (UTC)",
      kpi_country: "Country",
      kpi_all_countries: "All",
      kpi_by: "Series",
      kpi_by_day: "By day",
      kpi_by_hour: "By hour of day",
      kpi_show: "Show",
      kpi_range: "From {from} to {to}, UTC days",
      kpi_funnel: "Funnel",
      kpi_funnel_note:
        "Kept promises are those due in the range and already settled; they are not necessarily the promises obtained in it.",
      kpi_calls: "Calls",
      kpi_series: "Time series",
      kpi_series_counts: "Volume",
      kpi_series_rates: "Rates",
      kpi_series_data: "Show the series data",
      kpi_series_none: "The report has no time series.",
      kpi_by_country: "By country",
      kpi_by_country_note: "One request per country; countries without calls in the range are left out.",
      kpi_by_country_none: "No country had calls in the range.",
      kpi_by_country_single: "The filter already limits the report to one country.",
      kpi_recovery: "Recovery and cost",
      kpi_cohorts: "Recovery by placement month",
      kpi_cohorts_none: "No debts placed in the range.",
      kpi_horizon: "{days} days",
      kpi_horizon_open: "horizon not yet elapsed",
      kpi_roll_rates: "Roll rates",
      kpi_roll_rates_none: "No debts in the buckets for these months.",
      kpi_aging: "Aging on the last day",
      kpi_compliance: "Compliance",
      kpi_compliance_none: "The report has no compliance counters.",
      kpi_policy_skips: "Debtors skipped by the contact policy",
      kpi_policy_skips_none: "No debtor was skipped.",
      kpi_unconverted: "No USD rate for {currencies}, so the cost to collect is not computed.",
      kpi_per_thousand: "{value} per 1,000",
      kpi_cost_per_dollar: "{value} per dollar collected",
      kpi_rate_detail: "{numerator} of {denominator} {name}",
      kpi_rate_of: "of {name}",
      kpi: {
        dials: "Dials",
        inbound_calls: "Inbound calls",
        connects: "Connects",
        contacts: "Contacts",
        right_party_contacts: "Right-party contacts",
        promises: "Promises obtained",
        kept: "Promises kept",
        connect_rate: "Connect rate",
        contact_rate: "Contact rate",
        right_party_contact_rate: "Right-party contact rate",
        promise_to_pay_rate: "Promise-to-pay rate",
        promise_kept_rate: "Promise-kept rate",
        promise_kept_amount_rate: "Amount kept of the amount promised",
        broken_promises: "Broken promises",
        amount_promised: "Amount promised",
        amount_collected: "Amount collected",
        total_cost: "Total cost of the calls",
        cost_per_call: "Cost per call",
        cost_per_promise: "Cost per promise",
        cost_to_collect: "Cost to collect",
        handled_calls: "Handled calls",
        average_handle_seconds: "Average handle time",
        cure_rate: "Cure rate",
        outbound_attempts: "Outbound attempts",
        outside_window: "Outside the legal calling window",
        outside_window_rate: "Share outside the legal window",
        cap_breaches: "Attempt cap breaches",
        cap_breaches_per_thousand_debts: "Breaches per 1,000 debts attempted",
        debts_attempted: "Debts attempted",
        voice_opt_outs: "Voice opt-outs",
        opt_outs_called_after: "Opt-outs called afterwards",
        opt_outs_called_after_rate: "Share called after opting out",
        attempts_after_opt_out: "Attempts after an opt-out",
        max_seconds_to_last_attempt: "Maximum time to the last attempt",
        mean_seconds_to_last_attempt: "Mean time to the last attempt",
      },
      denominator: {
        dials: "dials",
        "right-party contacts": "right-party contacts",
        "promises due and settled": "promises due and settled",
        "debts past due at the start": "debts past due at the start",
        placed: "placed",
        promised: "promised",
        "outbound attempts": "outbound attempts",
        "voice opt-outs": "voice opt-outs",
        "debts attempted": "debts attempted",
        calls: "calls",
        promises: "promises",
        "debts in the bucket": "debts in the bucket",
        "in the bucket": "in the bucket",
      },
      aging_bucket: { current: "Current", "181+": "181 days or more" },
      aging_days: "{label} days",
      debtor_details: "Debtor details",
      debtor_name: "Name",
      debtor_phone: "Phone",
      debtor_country: "Country",
      debtor_region: "Region",
      debtor_locale: "Language",
      debtor_time_zone: "Time zone",
      debtor_national_id: "National id (last 4)",
      debtor_birth_date: "Birth date",
      debtor_postal_code: "Postal code",
      debtor_consent: "Consent to be called",
      debtor_channels: "Authorised channels",
      debtor_debts: "Debts",
      debtor_score: "Payment score",
      debtor_score_none: "The debtor has no score yet.",
      debtor_probability: "Probability of payment",
      debtor_points: "Points",
      debtor_segment: "Segment",
      debtor_strategy: "Strategy",
      debtor_expected_value: "Expected value of a call",
      debtor_model: "Model",
      debtor_scored_at: "Scored",
      debtor_as_of: "Data as of",
      debtor_reasons: "What costs the most points",
      debtor_contacts: "Contact history",
      debtor_promises: "Promises",
      debtor_opt_outs: "Opt-outs",
      debtor_opt_outs_none: "No opt-outs.",
      debtor_none: "No records.",
      audit_limit: "Latest entries",
      audit_filter: "Filter",
      audit_filter_placeholder: "User, action, target…",
      audit_empty: "No entries.",
      audit_count: "{shown} of {total} entries",
      disposition: {
        promise_to_pay: "Promise to pay",
        already_paid: "Says already paid",
        refused_to_pay: "Refused to pay",
        disputed: "Disputes the debt",
        hardship: "Hardship",
        callback_requested: "Callback requested",
        third_party: "Third party answered",
        wrong_number: "Wrong number",
        verification_failed: "Verification failed",
        right_party_no_commitment: "Right party, no commitment",
        no_response: "No response",
        not_understood: "Answers not understood",
        hung_up: "Hung up",
        stop_contact: "Asked to stop contact",
        transferred: "Transferred to an agent",
        voicemail_left: "Voicemail left",
        abusive: "Abusive caller",
        store_failed: "Storing the outcome failed",
        technical_failure: "Technical failure",
        speech_unavailable: "Speech recognition unavailable",
        busy: "Busy",
        no_answer: "No answer",
        call_failed: "Call could not be placed",
        unidentified_caller: "Unidentified caller",
      },
      audit_action: {
        login: "Logged in",
        login_failed: "Failed login",
        login_refused: "Login blocked",
        logout: "Logged out",
        listen_in: "Listened in",
        transfer: "Transferred",
        end_call: "Ended a call",
        play_recording: "Played a recording",
        campaign_pause: "Paused a campaign",
        campaign_resume: "Resumed a campaign",
        campaign_stop: "Stopped a campaign",
      },
      refusal: {
        no_jurisdiction: "No contact rules for the country",
        no_call_consent: "No consent to be called",
        channel_not_authorised: "Channel not authorised",
        opted_out: "Opted out of this channel",
        do_not_call: "On the do-not-call list",
        dispute_open: "Dispute open",
        callback_scheduled: "Callback scheduled",
        quiet_after_conversation: "Recent conversation",
        channel_locked_after_contact: "Week's channel already set",
        cap_per_debt: "Attempt cap per debt",
        cap_per_debtor: "Contact cap per debtor",
        holiday: "Holiday",
        day_closed: "No calling hours that day",
        outside_hours: "Outside calling hours",
      },
      state: {
        dialing: "Dialing",
        ringing: "Ringing",
        connecting: "Connecting",
        in_progress: "In progress",
        not_started: "Not started",
        confirming_identity: "Confirming identity",
        asking_third_party_time: "Asking a third party when to call",
        verifying: "Verifying identity",
        offering: "Offering terms",
        negotiating: "Negotiating",
        asking_payment: "Asking for a payment proposal",
        asking_amount: "Asking the amount",
        asking_date: "Asking the date",
        asking_offer_date: "Asking the payment day",
        reading_back: "Reading back the terms",
        asking_payment_details: "Asking payment details",
        offering_hardship: "Offering hardship help",
        offering_keypad_callback: "Offering a keypad callback",
        storing_promise: "Storing the promise",
        storing_outcome: "Storing the outcome",
        transferring: "Transferring",
        ended: "Ended",
      },
    },
  };

  /** BCP 47 locale of each console language, for Intl formats and `<html lang>`. */
  const LOCALES = { es: "es-419", en: "en-US" };
  const HTML_LANG = { es: "es-419", en: "en" };

  /** The countries with a contact-rule file in config/jurisdictions, for the KPI breakdown. */
  const JURISDICTION_COUNTRIES = ["AR", "BR", "CL", "CO", "MX", "PE", "US"];

  const DISPOSITIONS = Object.keys(MESSAGES.es.disposition);
  const LATENCY_STAGES = ["final_transcript_ms", "decision_ms", "first_audio_ms", "first_frame_ms", "first_mark_ms"];

  /** A turn whose first phrase played later than this is drawn as slow. A display threshold only. */
  const SLOW_TURN_MS = 1500;

  /** Delays between board reconnection tries, in milliseconds. The last one repeats. */
  const RECONNECT_DELAYS_MS = [1000, 2000, 5000, 10000];

  const CAMPAIGN_REFRESH_MS = 5000;
  const FLASH_NOTICE_MS = 8000;

  // ---------------------------------------------------------------------------------------------
  // Language and formats
  // ---------------------------------------------------------------------------------------------

  const session = { user: null, csrfToken: null, language: "es", transfer: false };

  function lookup(dictionary, key) {
    let value = dictionary;
    for (const part of key.split(".")) {
      if (value == null || typeof value !== "object") return undefined;
      value = value[part];
    }
    return value;
  }

  /** Returns the text of `key` in the current language, with `{name}` placeholders filled. */
  function t(key, params) {
    let text = lookup(MESSAGES[session.language], key);
    if (typeof text !== "string") text = lookup(MESSAGES.es, key);
    if (typeof text !== "string") text = key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
  }

  /** Returns the label of a server code (disposition, refusal, state…), or the code made readable. */
  function codeLabel(group, code) {
    if (code === null || code === undefined || code === "") return t("none");
    const label = lookup(MESSAGES[session.language], `${group}.${code}`);
    return typeof label === "string" ? label : String(code).replace(/_/g, " ");
  }

  function locale() {
    return LOCALES[session.language] || LOCALES.es;
  }

  const formatCache = new Map();

  /** Returns a cached Intl formatter, because building one per table cell is slow. */
  function formatter(kind, options) {
    const key = `${locale()}|${kind}|${JSON.stringify(options)}`;
    let cached = formatCache.get(key);
    if (!cached) {
      cached = kind === "date" ? new Intl.DateTimeFormat(locale(), options) : new Intl.NumberFormat(locale(), options);
      formatCache.set(key, cached);
    }
    return cached;
  }

  function formatInteger(value) {
    if (value === null || value === undefined) return t("not_available");
    return formatter("number", { maximumFractionDigits: 0 }).format(value);
  }

  function formatDecimal(value, digits) {
    if (value === null || value === undefined) return t("not_available");
    return formatter("number", { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  }

  /** Formats a fraction (0.25) as a percentage with one decimal. */
  function formatPercent(fraction) {
    if (fraction === null || fraction === undefined) return t("not_available");
    return formatter("number", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(
      fraction,
    );
  }

  /** Returns the number of minor units in a major unit: CLP has no cents, the others have two decimals. */
  function currencyExponent(currency) {
    return currency === "CLP" ? 0 : 2;
  }

  /** Formats integer minor units of an ISO currency, e.g. 450000 MXN as 4,500.00 with the currency's code or sign. */
  function formatMinor(minor, currency) {
    if (minor === null || minor === undefined || !currency) return t("not_available");
    const exponent = currencyExponent(currency);
    const options = { style: "currency", currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent };
    return formatter("number", options).format(minor / 10 ** exponent);
  }

  /** Returns the minor units of a money object. The KPI JSON names them `amount_minor`, the promise list `minor`. */
  function moneyMinor(money) {
    if (!money) return null;
    if (typeof money.amount_minor === "number") return money.amount_minor;
    if (typeof money.minor === "number") return money.minor;
    return null;
  }

  function formatMoney(money) {
    if (!money) return t("not_available");
    return formatMinor(moneyMinor(money), money.currency);
  }

  /** Formats millionths of a US dollar with two to four decimals, e.g. 12300 as 0.0123 US dollars. */
  function formatUsdMicros(micros) {
    if (micros === null || micros === undefined) return t("not_available");
    const options = { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 };
    return formatter("number", options).format(micros / 1e6);
  }

  function parseTime(iso) {
    if (!iso) return null;
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  /** Formats an instant as a short date and time in the browser's time zone. */
  function formatDateTime(iso) {
    const date = parseTime(iso);
    if (!date) return t("none");
    return formatter("date", { dateStyle: "short", timeStyle: "medium" }).format(date);
  }

  /** Formats the time of an instant on a 24-hour clock, e.g. "16:04:11". */
  function formatClock(iso) {
    const date = parseTime(iso);
    if (!date) return t("none");
    return formatter("date", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(date);
  }

  /** Formats a calendar date (`2026-03-02`) without shifting it into the browser's time zone. */
  function formatDay(day) {
    if (!day) return t("none");
    const date = new Date(`${day}T00:00:00Z`);
    if (Number.isNaN(date.getTime())) return String(day);
    return formatter("date", { dateStyle: "medium", timeZone: "UTC" }).format(date);
  }

  /** Formats a month (`2026-03`) as its name and year. */
  function formatMonth(month) {
    const date = new Date(`${month}-01T00:00:00Z`);
    if (Number.isNaN(date.getTime())) return String(month);
    return formatter("date", { month: "short", year: "numeric", timeZone: "UTC" }).format(date);
  }

  /** Formats whole seconds as "m:ss", or "h:mm:ss" from one hour. */
  function formatDuration(totalSeconds) {
    const seconds = Math.max(0, Math.floor(totalSeconds));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = String(seconds % 60).padStart(2, "0");
    return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function formatMs(ms) {
    if (ms === null || ms === undefined) return t("not_available");
    return t("ms_unit", { value: formatInteger(ms) });
  }

  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined) return t("not_available");
    return t("seconds_unit", { value: formatDecimal(seconds, 1) });
  }

  function countryName(code) {
    if (!code) return t("none");
    try {
      const names = new Intl.DisplayNames([locale()], { type: "region" });
      return names.of(code) || code;
    } catch (error) {
      return code;
    }
  }

  function yesNo(value) {
    return value ? t("yes") : t("no");
  }

  // ---------------------------------------------------------------------------------------------
  // DOM helpers
  // ---------------------------------------------------------------------------------------------

  /**
   * Creates an element. `props` sets attributes, except `class`, `text` (textContent), `dataset`
   * and `on*` (event listeners). Children are nodes or strings, added as text.
   */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  /** Builds a table with a header row. The `headers` are dictionary keys under `col.`. */
  function table(className, headers, rows) {
    return el(
      "table",
      { class: `data ${className || ""}`.trim() },
      el("thead", null, el("tr", null, headers.map((key) => el("th", { scope: "col", text: t(`col.${key}`) })))),
      el("tbody", null, rows),
    );
  }

  /** Builds a table head whose column headers are `texts`. */
  function headerRow(texts) {
    return el("thead", null, el("tr", null, texts.map((text) => el("th", { scope: "col", text }))));
  }

  function numberCell(...children) {
    return el("td", { class: "number" }, children);
  }

  function emptyNote(text) {
    return el("p", { class: "empty", text });
  }

  function section(titleText, ...children) {
    return el("section", { class: "panel" }, el("h2", { text: titleText }), children);
  }

  /** Builds a definition list from [label, value] pairs; a value may be a node. */
  function details(pairs) {
    return el(
      "dl",
      { class: "details" },
      pairs.map(([label, value]) => [el("dt", { text: label }), el("dd", null, value ?? t("none"))]),
    );
  }

  function callLink(attemptId) {
    return el("a", { href: `#/calls/${encodeURIComponent(attemptId)}`, text: String(attemptId) });
  }

  function debtorLink(debtorId, text) {
    if (!debtorId) return text || t("none");
    return el("a", { href: `#/debtors/${encodeURIComponent(debtorId)}`, text: text || String(debtorId) });
  }

  // ---------------------------------------------------------------------------------------------
  // Notices
  // ---------------------------------------------------------------------------------------------

  let flashTimer = null;

  /** Shows a notice or an error in #flash. Errors stay until the next message, and notices fade. */
  function flash(message, kind) {
    const box = $("#flash");
    box.textContent = message;
    box.className = kind === "error" ? "flash error" : "flash notice";
    box.hidden = false;
    clearTimeout(flashTimer);
    if (kind !== "error") {
      flashTimer = setTimeout(() => {
        box.hidden = true;
      }, FLASH_NOTICE_MS);
    }
  }

  function clearFlash() {
    clearTimeout(flashTimer);
    $("#flash").hidden = true;
  }

  // ---------------------------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  async function readJson(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  /**
   * Sends a request to the console API and returns the parsed JSON (null for 204). Throws an
   * ApiError carrying the server's `error` message. A 401 shows the login form unless
   * `options.loginRequest` is set, because there it means wrong credentials.
   */
  async function api(method, path, body, options) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") {
      const token = options && options.csrfToken ? options.csrfToken : session.csrfToken;
      if (token) headers["X-CSRF-Token"] = token;
    }
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, t("error_network", { detail: error.message }), null);
    }
    const data = await readJson(response);
    if (response.ok) return data;
    const message = data && typeof data.error === "string" ? data.error : t("error_http", { status: response.status });
    if (response.status === 401 && !(options && options.loginRequest)) {
      endSession(t("session_expired"));
    }
    throw new ApiError(response.status, message, data);
  }

  /** Shows an API failure in #flash, except a 401, which already showed the login form. */
  function reportError(error) {
    if (error instanceof ApiError && error.status === 401) return;
    flash(error.message || String(error), "error");
  }

  function socketUrl(path) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${path}`;
  }

  function canAct() {
    return session.user !== null && (session.user.role === "admin" || session.user.role === "supervisor");
  }

  // ---------------------------------------------------------------------------------------------
  // View scope: what a view opened and must close when the route changes
  // ---------------------------------------------------------------------------------------------

  class ViewScope {
    constructor() {
      this.active = true;
      this.cleanups = [];
    }

    onClose(cleanup) {
      this.cleanups.push(cleanup);
    }

    interval(callback, ms) {
      const id = setInterval(callback, ms);
      this.onClose(() => clearInterval(id));
      return id;
    }

    timeout(callback, ms) {
      const id = setTimeout(() => {
        if (this.active) callback();
      }, ms);
      this.onClose(() => clearTimeout(id));
      return id;
    }

    close() {
      this.active = false;
      for (const cleanup of this.cleanups.splice(0)) {
        try {
          cleanup();
        } catch (error) {
          console.error("view cleanup failed", error);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing
  // ---------------------------------------------------------------------------------------------

  /** Views by the first segment of the hash route; `nav` names the menu entry kept highlighted. */
  const ROUTES = {
    board: { nav: "board", render: (container, scope) => renderBoard(container, scope) },
    calls: { nav: null, render: (container, scope, route) => renderCall(container, scope, route.segments[1]) },
    history: { nav: "history", render: (container, scope, route) => renderHistory(container, scope, route.query) },
    promises: { nav: "promises", render: (container, scope, route) => renderPromises(container, scope, route.query) },
    campaigns: { nav: "campaigns", render: (container, scope) => renderCampaigns(container, scope) },
    kpis: { nav: "kpis", render: (container, scope, route) => renderKpis(container, scope, route.query) },
    debtors: { nav: null, render: (container, scope, route) => renderDebtor(container, scope, route.segments[1]) },
    audit: { nav: "audit", render: (container, scope, route) => renderAudit(container, scope, route.query) },
  };

  /** Splits `#/calls/12?x=1` into segments ["calls", "12"] and its query. */
  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, queryText] = raw.split("?", 2);
    const segments = path.split("/").filter(Boolean).map((part) => {
      try {
        return decodeURIComponent(part);
      } catch (error) {
        return part;
      }
    });
    return { segments, query: new URLSearchParams(queryText || "") };
  }

  /** Returns a hash route with the non-empty values of `params` as its query. */
  function hashWithQuery(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && String(value).trim() !== "") query.set(name, String(value).trim());
    }
    const text = query.toString();
    return text ? `#/${path}?${text}` : `#/${path}`;
  }

  let currentScope = null;

  function setTitle(text) {
    $("#page-title").textContent = text;
    document.title = `${text} · Cobranza`;
  }

  /** Closes the current view and renders the one the hash names. */
  function route() {
    if (!session.user) return;
    const parsed = parseHash();
    if (parsed.segments.length === 0) {
      location.replace("#/board");
      return;
    }
    if (currentScope) currentScope.close();
    const scope = new ViewScope();
    currentScope = scope;

    const container = $("#view");
    container.replaceChildren();
    const name = parsed.segments[0];
    const view = ROUTES[name];
    for (const link of document.querySelectorAll("nav a[data-view]")) {
      const current = view && link.dataset.view === view.nav;
      link.classList.toggle("active", current);
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!view) {
      setTitle(t("title.not_found"));
      container.append(emptyNote(t("not_found_text", { hash: location.hash })));
      return;
    }
    const id = parsed.segments[1] || "";
    setTitle(t(`title.${name === "calls" ? "call" : name === "debtors" ? "debtor" : name}`, { id }));
    Promise.resolve()
      .then(() => view.render(container, scope, parsed))
      .catch((error) => {
        if (!scope.active) return;
        reportError(error);
      });
  }

  // ---------------------------------------------------------------------------------------------
  // Session, login and language
  // ---------------------------------------------------------------------------------------------

  function loginToken() {
    const meta = document.querySelector('meta[name="cobranza-login-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /** Fills every element marked with data-i18n (text), data-i18n-placeholder or data-i18n-aria-label. */
  function applyStaticLabels() {
    document.documentElement.lang = HTML_LANG[session.language] || HTML_LANG.es;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    }
    for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    }
    const switchButton = $("#language-switch");
    switchButton.textContent = t("language_switch");
    switchButton.setAttribute("title", t("language_switch_hint"));
    switchButton.setAttribute("lang", session.language === "es" ? "en" : "es");
    renderWhoami();
  }

  function renderWhoami() {
    const whoami = $("#whoami");
    if (!session.user) {
      whoami.textContent = "";
      return;
    }
    whoami.textContent = `${session.user.username} · ${session.user.role}`;
    whoami.setAttribute("title", codeLabel("role", session.user.role));
  }

  function setLanguage(language) {
    session.language = MESSAGES[language] ? language : "es";
    try {
      localStorage.setItem("cobranza.language", session.language);
    } catch (error) {
      // Storage may be disabled; the language then resets to Spanish on reload before login.
    }
    formatCache.clear();
    applyStaticLabels();
  }

  /** Applies a `me` or login response: the user, their CSRF token and their language. */
  function startSession(me) {
    session.user = me.user;
    session.csrfToken = me.csrf_token;
    session.transfer = me.transfer === true;
    setLanguage(me.user.language || "es");
    $("#login").hidden = true;
    $("#app").hidden = false;
    $("#nav").hidden = false;
    $("#logout").hidden = false;
    const auditAllowed = me.user.role === "admin" || me.user.role === "auditor";
    $('nav a[data-view="audit"]').hidden = !auditAllowed;
    document.body.classList.toggle("read-only", !canAct());
    if (!location.hash || location.hash === "#" || location.hash === "#/") location.replace("#/board");
    else route();
  }

  /** Forgets the session, closes the view and shows the login form with `message`, if any. */
  function endSession(message) {
    if (currentScope) currentScope.close();
    currentScope = null;
    session.user = null;
    session.csrfToken = null;
    $("#view").replaceChildren();
    $("#app").hidden = true;
    $("#nav").hidden = true;
    $("#logout").hidden = true;
    $("#login").hidden = false;
    renderWhoami();
    setTitle(t("login_title"));
    $("#login-error").textContent = message || "";
    $("#login-password").value = "";
    $("#login-username").focus();
  }

  async function submitLogin(event) {
    event.preventDefault();
    const submit = $("#login-submit");
    const errorBox = $("#login-error");
    errorBox.textContent = "";
    submit.disabled = true;
    submit.textContent = t("login_busy");
    try {
      const body = { username: $("#login-username").value.trim(), password: $("#login-password").value };
      const me = await api("POST", "/console/api/login", body, { loginRequest: true, csrfToken: loginToken() });
      $("#login-password").value = "";
      clearFlash();
      startSession(me);
    } catch (error) {
      errorBox.textContent = loginErrorText(error);
    } finally {
      submit.disabled = false;
      submit.textContent = t("login_submit");
    }
  }

  function loginErrorText(error) {
    if (!(error instanceof ApiError)) return String(error);
    if (error.status === 429) {
      const seconds = error.body && error.body.retry_after_seconds;
      return seconds ? t("login_too_many", { seconds: formatInteger(seconds) }) : error.message;
    }
    if (error.status === 403) return t("login_token_rejected");
    if (error.status === 401) return t("login_failed");
    return error.message;
  }

  async function logout() {
    try {
      await api("POST", "/console/api/logout");
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) {
        reportError(error);
        return;
      }
    }
    // A fresh page carries a fresh login token, so the next login does not reuse the old one.
    location.replace("/console");
  }

  async function switchLanguage() {
    const next = session.language === "es" ? "en" : "es";
    if (!session.user) {
      setLanguage(next);
      setTitle(t("login_title"));
      return;
    }
    try {
      const me = await api("POST", "/console/api/me/language", { language: next });
      session.user = me.user;
      if (me.csrf_token) session.csrfToken = me.csrf_token;
      setLanguage(me.user.language || next);
      route();
    } catch (error) {
      reportError(error);
    }
  }

  async function boot() {
    let stored = null;
    try {
      stored = localStorage.getItem("cobranza.language");
    } catch (error) {
      stored = null;
    }
    setLanguage(stored === "en" ? "en" : "es");
    $("#login-form").addEventListener("submit", submitLogin);
    $("#logout").addEventListener("click", logout);
    $("#language-switch").addEventListener("click", switchLanguage);
    $("#flash").addEventListener("click", clearFlash);
    window.addEventListener("hashchange", route);
    try {
      const me = await api("GET", "/console/api/me", undefined, { loginRequest: true });
      startSession(me);
    } catch (error) {
      endSession(error instanceof ApiError && error.status === 401 ? "" : error.message);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Live board
  // ---------------------------------------------------------------------------------------------

  // The server's clock minus the browser's, from the board's messages.
  let serverOffsetMs = 0;
  function serverNow() {
    return Date.now() + serverOffsetMs;
  }

  // Counters the browser tests read: board messages received, rows upserted by `changes`
  // messages (not the calls of a snapshot), rows removed, and the time spent drawing.
  window.cobranzaStats = { boardMessages: 0, boardUpserts: 0, boardRemoved: 0, boardRenders: 0, boardRenderMs: 0, boardRenderMsMax: 0 };

  /**
   * The board's columns in order. `fields` are the LiveCall fields a cell shows, so an upsert
   * formats a cell only when one of them changed, and `text` renders it. The duration has no
   * `text` because it ticks.
   */
  const BOARD_COLUMNS = [
    { key: "attempt", fields: ["attempt_id"], text: (call) => String(call.attempt_id) },
    { key: "debtor", fields: ["debtor"], text: (call) => call.debtor || t("none") },
    { key: "phone", fields: ["phone"], text: (call) => call.phone || t("none") },
    { key: "country", fields: ["country"], text: (call) => call.country || t("none") },
    { key: "campaign", fields: ["campaign"], text: (call) => call.campaign || t("none") },
    { key: "direction", fields: ["direction"], text: (call) => codeLabel("direction", call.direction) },
    { key: "state", fields: ["state"], text: (call) => codeLabel("state", call.state) },
    { key: "started", fields: ["started_at"], text: (call) => formatClock(call.started_at) },
    { key: "duration", fields: [], text: null },
    {
      key: "latency",
      fields: ["last_latency_ms"],
      text: (call) => (call.last_latency_ms == null ? t("none") : formatMs(call.last_latency_ms)),
    },
    { key: "node", fields: ["node"], text: (call) => call.node || t("none") },
    { key: "disposition", fields: ["disposition"], text: (call) => codeLabel("disposition", call.disposition) },
  ];
  const BOARD_SEARCH_FIELDS = ["attempt_id", "call_sid", "debtor", "phone", "country", "campaign", "node", "state", "disposition"];

  function setText(node, text) {
    if (node.data !== text) node.data = text;
  }

  /** One board row: its cells' text nodes, so an update writes only the cells whose text changed. */
  class BoardRow {
    constructor(call) {
      this.tr = document.createElement("tr");
      this.tr.dataset.attempt = String(call.attempt_id);
      this.tr.setAttribute("role", "row");
      this.texts = {};
      this.cells = {};
      for (const column of BOARD_COLUMNS) {
        const cell = document.createElement("td");
        cell.className = `c-${column.key}`;
        cell.setAttribute("role", "cell");
        const text = document.createTextNode("");
        if (column.key === "attempt") {
          cell.append(el("a", { href: `#/calls/${encodeURIComponent(call.attempt_id)}` }, text));
        } else {
          cell.append(text);
        }
        this.texts[column.key] = text;
        this.cells[column.key] = cell;
        this.tr.append(cell);
      }
      this.call = null;
      this.startedMs = NaN;
      this.endedMs = null;
      this.searchText = "";
      this.update(call);
    }

    update(call) {
      const previous = this.call;
      this.call = call;
      const changed = (fields) => previous === null || fields.some((name) => previous[name] !== call[name]);
      for (const column of BOARD_COLUMNS) {
        if (column.text && changed(column.fields)) setText(this.texts[column.key], column.text(call));
      }
      if (changed(["started_at"])) this.startedMs = Date.parse(call.started_at);
      // LiveCall has no end time, so the duration stops when the disposition first shows.
      if (call.disposition && this.endedMs === null) this.endedMs = serverNow();
      if (!call.disposition) this.endedMs = null;
      this.tr.classList.toggle("ended", Boolean(call.disposition));
      this.cells.latency.classList.toggle("slow", call.last_latency_ms != null && call.last_latency_ms > SLOW_TURN_MS);
      if (changed(["state"])) this.cells.state.dataset.state = call.state || "";
      if (changed(BOARD_SEARCH_FIELDS)) {
        const labels = [codeLabel("state", call.state), call.disposition ? codeLabel("disposition", call.disposition) : ""];
        const values = BOARD_SEARCH_FIELDS.map((name) => call[name]).concat(labels);
        this.searchText = values.filter(Boolean).join(" ").toLowerCase();
      }
      this.tick(serverNow());
    }

    tick(now) {
      if (Number.isNaN(this.startedMs)) {
        setText(this.texts.duration, t("none"));
        return;
      }
      const end = this.endedMs === null ? now : this.endedMs;
      setText(this.texts.duration, formatDuration((end - this.startedMs) / 1000));
    }
  }

  function renderBoard(container, scope) {
    const rows = new Map();
    const pending = { snapshot: null, upserts: new Map(), removed: new Set() };
    let filterText = "";
    let summaryKey = "";

    const count = el("span", { id: "board-count", class: "count", text: "0" });
    const countLabel = el("span", { text: t("board_count_label") });
    const status = el("span", { class: "connection", role: "status", text: t("board_connecting") });
    const filterInput = el("input", {
      type: "search",
      id: "board-filter",
      placeholder: t("board_filter_placeholder"),
      "aria-label": t("board_filter"),
    });
    const summary = el("div", { class: "state-summary" });
    const tbody = el("tbody", { role: "rowgroup" });
    const empty = el("p", { class: "empty", text: t("board_empty") });
    const head = el(
      "tr",
      { role: "row" },
      BOARD_COLUMNS.map((column) => el("th", { scope: "col", role: "columnheader", class: `c-${column.key}`, text: t(`col.${column.key}`) })),
    );

    container.append(
      el(
        "section",
        { id: "board" },
        el(
          "div",
          { class: "toolbar" },
          el("span", { class: "board-total" }, count, " ", countLabel),
          status,
          el("label", { class: "inline" }, t("board_filter"), filterInput),
        ),
        summary,
        el("div", { class: "table-scroll board-scroll" }, el("table", { class: "data board-table", role: "table" }, el("thead", { role: "rowgroup" }, head), tbody)),
        empty,
      ),
    );

    tbody.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      const row = event.target.closest("tr[data-attempt]");
      if (row) location.hash = `#/calls/${encodeURIComponent(row.dataset.attempt)}`;
    });

    filterInput.addEventListener("input", () => {
      filterText = filterInput.value.trim().toLowerCase();
      for (const row of rows.values()) applyFilter(row);
      renderCounts();
    });

    function applyFilter(row) {
      const hidden = filterText !== "" && !row.searchText.includes(filterText);
      if (row.tr.hidden !== hidden) row.tr.hidden = hidden;
    }

    function applyUpserts(calls) {
      const fresh = [];
      for (const call of calls) {
        const key = String(call.attempt_id);
        const existing = rows.get(key);
        if (existing) {
          existing.update(call);
          applyFilter(existing);
          continue;
        }
        const row = new BoardRow(call);
        rows.set(key, row);
        applyFilter(row);
        fresh.push(row);
      }
      if (fresh.length === 0) return;
      // New calls go on top, newest first, and rows already shown keep their place.
      fresh.sort((a, b) => (b.startedMs || 0) - (a.startedMs || 0));
      const fragment = document.createDocumentFragment();
      for (const row of fresh) fragment.append(row.tr);
      tbody.prepend(fragment);
    }

    function removeRow(key) {
      const row = rows.get(key);
      if (!row) return;
      row.tr.remove();
      rows.delete(key);
    }

    function renderCounts() {
      count.textContent = String(rows.size);
      countLabel.textContent = rows.size === 1 ? t("board_count_label_one") : t("board_count_label");
      let visible = 0;
      const byState = new Map();
      for (const row of rows.values()) {
        if (!row.tr.hidden) visible += 1;
        const state = row.call.disposition ? "ended" : row.call.state || "";
        byState.set(state, (byState.get(state) || 0) + 1);
      }
      empty.hidden = visible > 0;
      empty.textContent = rows.size === 0 ? t("board_empty") : t("board_no_match");
      const entries = [...byState.entries()].sort((a, b) => b[1] - a[1]);
      const key = JSON.stringify(entries);
      if (key === summaryKey) return;
      summaryKey = key;
      summary.replaceChildren(
        ...entries.map(([state, total]) =>
          el("span", { class: "chip", dataset: { state } }, codeLabel("state", state), " ", el("strong", { text: formatInteger(total) })),
        ),
      );
    }

    function flush() {
      if (!scope.active) return;
      const started = performance.now();
      draw();
      const spent = performance.now() - started;
      const stats = window.cobranzaStats;
      stats.boardRenders += 1;
      stats.boardRenderMs += spent;
      stats.boardRenderMsMax = Math.max(stats.boardRenderMsMax, spent);
    }

    function draw() {
      if (pending.snapshot) {
        const snapshot = pending.snapshot;
        pending.snapshot = null;
        const keep = new Set(snapshot.map((call) => String(call.attempt_id)));
        for (const key of [...rows.keys()]) if (!keep.has(key)) removeRow(key);
        applyUpserts(snapshot);
      }
      applyUpserts(pending.upserts.values());
      pending.upserts.clear();
      for (const key of pending.removed) removeRow(key);
      pending.removed.clear();
      renderCounts();
    }

    // Messages are merged into `pending` and drawn once per frame. A hidden tab gets no frames,
    // so a timer draws them too, and the merge keeps one entry per call however long that takes.
    let frameRequest = 0;
    let frameTimer = 0;
    function scheduleFlush() {
      if (frameRequest || frameTimer) return;
      const run = () => {
        cancelAnimationFrame(frameRequest);
        clearTimeout(frameTimer);
        frameRequest = 0;
        frameTimer = 0;
        flush();
      };
      frameRequest = requestAnimationFrame(run);
      frameTimer = setTimeout(run, 250);
    }
    scope.onClose(() => {
      cancelAnimationFrame(frameRequest);
      clearTimeout(frameTimer);
    });

    function receive(data) {
      let message;
      try {
        message = JSON.parse(data);
      } catch (error) {
        console.warn("board message is not JSON", error);
        return;
      }
      window.cobranzaStats.boardMessages += 1;
      // Durations use the server's clock, whatever the browser's clock reads.
      const serverTime = Date.parse(message.now);
      if (!Number.isNaN(serverTime)) serverOffsetMs = serverTime - Date.now();
      if (message.type === "snapshot") {
        pending.snapshot = Array.isArray(message.calls) ? message.calls : [];
        pending.upserts.clear();
        pending.removed.clear();
      } else if (message.type === "changes") {
        const upserts = Array.isArray(message.upserts) ? message.upserts : [];
        window.cobranzaStats.boardUpserts += upserts.length;
        for (const call of upserts) {
          const key = String(call.attempt_id);
          pending.removed.delete(key);
          pending.upserts.set(key, call);
        }
        for (const id of Array.isArray(message.removed) ? message.removed : []) {
          window.cobranzaStats.boardRemoved += 1;
          const key = String(id);
          pending.upserts.delete(key);
          pending.removed.add(key);
        }
      } else {
        return;
      }
      scheduleFlush();
    }

    let socket = null;
    let failures = 0;
    function connect() {
      if (!scope.active) return;
      status.textContent = t("board_connecting");
      status.className = "connection";
      socket = new WebSocket(socketUrl("/console/ws/board"));
      socket.addEventListener("open", () => {
        failures = 0;
        status.textContent = t("board_live");
        status.className = "connection live";
      });
      socket.addEventListener("message", (event) => receive(event.data));
      socket.addEventListener("close", () => {
        socket = null;
        if (!scope.active) return;
        const delay = RECONNECT_DELAYS_MS[Math.min(failures, RECONNECT_DELAYS_MS.length - 1)];
        failures += 1;
        status.textContent = t("board_reconnecting", { seconds: Math.round(delay / 1000) });
        status.className = "connection lost";
        // The browser hides why a WebSocket failed; an expired session shows as a 401 here.
        api("GET", "/console/api/me").catch(() => {});
        scope.timeout(connect, delay);
      });
    }
    scope.onClose(() => {
      if (socket) socket.close();
    });

    scope.interval(() => {
      const now = serverNow();
      for (const row of rows.values()) row.tick(now);
    }, 1000);

    renderCounts();
    connect();
  }

  // ---------------------------------------------------------------------------------------------
  // Listen-in: μ-law frames from the call, decoded and played through Web Audio
  // ---------------------------------------------------------------------------------------------

  /** G.711 μ-law byte → 16-bit linear sample, for all 256 bytes. */
  const MULAW_TO_LINEAR = (() => {
    const samples = new Int16Array(256);
    for (let byte = 0; byte < 256; byte += 1) {
      const code = ~byte & 0xff;
      const exponent = (code >> 4) & 0x07;
      const mantissa = code & 0x0f;
      const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
      samples[byte] = code & 0x80 ? -magnitude : magnitude;
    }
    return samples;
  })();

  const LISTEN_SAMPLE_RATE = 8000;
  /** Playback starts this far behind the newest frame, to absorb network jitter. */
  const LISTEN_BUFFER_SECONDS = 0.12;
  /** A side that falls further behind than this is moved back to the buffer delay. */
  const LISTEN_MAX_LAG_SECONDS = 0.5;
  const SIDE_CALLER = 0;
  const SIDE_BOT = 1;

  function resetListenStats() {
    window.cobranzaListen = {
      frames: 0,
      callerFrames: 0,
      botFrames: 0,
      lastCallerSamples: [],
      lastBotSamples: [],
      lastCallerBytes: [],
      lastBotBytes: [],
    };
  }
  resetListenStats();

  /**
   * One listen-in session: the audio WebSocket of a call and an AudioContext. Each side's frames
   * are queued back to back on that side's own clock, and both sides play into one gain node,
   * which mixes them. The frames are counted even when the browser cannot play audio.
   */
  class ListenIn {
    constructor(attemptId, onClosed) {
      this.attemptId = attemptId;
      this.onClosed = onClosed;
      this.context = null;
      this.output = null;
      this.nextStart = [0, 0];
      this.socket = null;
    }

    start() {
      resetListenStats();
      try {
        this.context = new AudioContext();
        this.output = this.context.createGain();
        // Two full-scale sides can sum past 1.0; the gain keeps the mix below clipping.
        this.output.gain.value = 0.5;
        this.output.connect(this.context.destination);
        this.context.resume().catch(() => {});
      } catch (error) {
        this.context = null;
        flash(t("listen_audio_failed", { detail: error.message }), "error");
      }
      this.socket = new WebSocket(socketUrl(`/console/ws/calls/${encodeURIComponent(this.attemptId)}/audio`));
      this.socket.binaryType = "arraybuffer";
      this.socket.addEventListener("message", (event) => this.receive(event.data));
      this.socket.addEventListener("close", () => {
        this.socket = null;
        if (this.onClosed) flash(t("listen_closed"), "notice");
        this.stop();
      });
    }

    receive(data) {
      if (!(data instanceof ArrayBuffer) || data.byteLength < 2) return;
      const bytes = new Uint8Array(data);
      const side = bytes[0];
      if (side !== SIDE_CALLER && side !== SIDE_BOT) return;
      const samples = new Int16Array(bytes.length - 1);
      for (let index = 1; index < bytes.length; index += 1) samples[index - 1] = MULAW_TO_LINEAR[bytes[index]];

      const stats = window.cobranzaListen;
      stats.frames += 1;
      if (side === SIDE_CALLER) {
        stats.callerFrames += 1;
        stats.lastCallerSamples = Array.from(samples);
        stats.lastCallerBytes = Array.from(bytes.subarray(1));
      } else {
        stats.botFrames += 1;
        stats.lastBotSamples = Array.from(samples);
        stats.lastBotBytes = Array.from(bytes.subarray(1));
      }
      this.play(side, samples);
    }

    play(side, samples) {
      const context = this.context;
      if (!context || context.state === "closed") return;
      // The buffer keeps the 8 kHz rate and the context resamples it to the device's rate.
      const buffer = context.createBuffer(1, samples.length, LISTEN_SAMPLE_RATE);
      const channel = buffer.getChannelData(0);
      for (let index = 0; index < samples.length; index += 1) channel[index] = samples[index] / 32768;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.output);
      const now = context.currentTime;
      let at = this.nextStart[side];
      if (at < now || at > now + LISTEN_MAX_LAG_SECONDS) at = now + LISTEN_BUFFER_SECONDS;
      source.start(at);
      this.nextStart[side] = at + buffer.duration;
    }

    stop() {
      if (this.socket) {
        const socket = this.socket;
        this.socket = null;
        socket.close();
      }
      if (this.context) {
        this.context.close().catch(() => {});
        this.context = null;
      }
      if (this.onClosed) {
        const onClosed = this.onClosed;
        this.onClosed = null;
        onClosed();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Call view: live transcript, state, promise, latency, listen-in and actions
  // ---------------------------------------------------------------------------------------------

  /**
   * Reloads of each call view after its live connection closed without a message in between.
   * After CALL_MAX_RELOADS the view stops retrying, because the server keeps refusing it.
   */
  const callReloads = new Map();
  const CALL_MAX_RELOADS = 3;

  async function renderCall(container, scope, attemptId) {
    container.append(emptyNote(t("loading")));
    const data = await api("GET", `/console/api/calls/${encodeURIComponent(attemptId)}`);
    if (!scope.active) return;
    container.replaceChildren();
    buildCallView(container, scope, attemptId, data);
  }

  function promiseSummary(stored) {
    const promise = stored && stored.promise ? stored.promise : stored;
    if (!promise) return null;
    const installments = Array.isArray(promise.installments) ? promise.installments : [];
    const pairs = [
      [t("promise_amount"), formatMoney(promise.amount)],
      [t("promise_due"), formatDay(promise.due_date)],
    ];
    if (installments.length > 1) {
      pairs.push([
        t("promise_installments"),
        el(
          "ol",
          { class: "installments" },
          installments.map((part) =>
            el("li", { text: t("promise_installment", { amount: formatMoney(part.amount), date: formatDay(part.due_date) }) }),
          ),
        ),
      ]);
    }
    return el("div", { class: "promise" }, details(pairs));
  }

  function turnTimings(turn) {
    return turn && turn.timings ? turn.timings : turn || {};
  }

  /** The scale top of the latency strip, fixed so bars already drawn keep their height. */
  const LATENCY_SCALE_MS = 3000;

  function latencyBar(timings, number) {
    const bar = el("div", { class: "bar" });
    let previous = 0;
    const parts = [];
    for (const stage of LATENCY_STAGES) {
      const value = timings[stage];
      if (value === null || value === undefined) continue;
      const segment = el("span", { class: `segment ${stage}` });
      const height = Math.max(0, Math.min(value, LATENCY_SCALE_MS) - Math.min(previous, LATENCY_SCALE_MS));
      segment.style.height = `${(height / LATENCY_SCALE_MS) * 100}%`;
      bar.append(segment);
      parts.push(`${t(`stage.${stage}`)} ${formatMs(value)}`);
      previous = Math.max(previous, value);
    }
    const total = timings.first_mark_ms ?? previous;
    bar.classList.toggle("slow", total > SLOW_TURN_MS);
    bar.classList.toggle("clipped", total > LATENCY_SCALE_MS);
    bar.dataset.totalMs = String(total);
    bar.setAttribute("title", `${t("col.turn")} ${number}: ${parts.join(", ")}`);
    return bar;
  }

  function buildCallView(container, scope, attemptId, data) {
    const attempt = data.attempt || {};
    const debtor = data.debtor || {};
    let live = Boolean(data.live);
    let listen = null;

    const stateBox = el("span", { id: "call-state", class: "badge" });
    const dispositionBox = el("span", { id: "call-disposition" });
    const promiseBox = el("div", { id: "call-promise" });
    const transcript = el("ol", { id: "transcript", class: "transcript", "aria-live": "polite" });
    const transcriptEmpty = el("li", { class: "empty", text: t("call_transcript_empty") });
    const strip = el("div", { id: "latency-strip", class: "latency-strip", role: "img", "aria-label": t("call_latency") });
    const stripEmpty = emptyNote(t("call_latency_empty"));
    const turnsBody = el("tbody");
    const turnHeaders = [t("col.turn"), ...LATENCY_STAGES.map((stage) => t(`stage.${stage}`))];
    const turnsTable = el("table", { class: "data compact" }, headerRow(turnHeaders), turnsBody);
    const recordingBox = el("div", { class: "recording" });
    const liveBadge = el("span", { class: "badge" });
    const listenButton = el("button", { id: "listen-button", type: "button", class: "secondary", text: t("listen") });
    const transferButton = el("button", { id: "transfer-button", type: "button", text: t("transfer") });
    const endButton = el("button", { id: "end-button", type: "button", class: "danger", text: t("end") });
    // The transfer needs a configured number and Twilio's REST API on this node.
    transferButton.hidden = !canAct() || !session.transfer;
    endButton.hidden = !canAct();
    // Auditors may not hear calls, which carry the personal data they see masked.
    listenButton.hidden = !canAct();

    const lineNodes = new Map();
    let interimNode = null;
    let turnCount = 0;

    function setState(code) {
      stateBox.dataset.state = code || "";
      stateBox.textContent = code ? codeLabel("state", code) : t("call_state_unknown");
    }

    function setDisposition(code) {
      dispositionBox.dataset.disposition = code || "";
      dispositionBox.textContent = code ? codeLabel("disposition", code) : "";
    }

    function setLive(value) {
      live = value;
      // Once the call ended, the state badge shows it and the live badge is hidden.
      liveBadge.textContent = t("call_live");
      liveBadge.className = "badge live";
      liveBadge.hidden = !live;
      transferButton.disabled = !live;
      endButton.disabled = !live;
      listenButton.disabled = !live && listen === null;
    }

    function keepScrolledToEnd(update) {
      const atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
      update();
      if (atEnd) transcript.scrollTop = transcript.scrollHeight;
    }

    function addLine(line) {
      transcriptEmpty.remove();
      const speaker = line.speaker === "bot" ? "bot" : "debtor";
      const key = `${speaker}|${line.at}`;
      const node = el(
        "li",
        { class: `line ${speaker}${line.cut ? " cut" : ""}` },
        el("span", { class: "speaker", text: codeLabel("speaker", speaker) }),
        el("time", { datetime: line.at || "", text: formatClock(line.at) }),
        el("span", { class: "text", text: line.text || "" }),
        speaker === "bot" ? el("span", { class: "mark", text: line.cut ? t("line_cut") : t("line_heard") }) : null,
      );
      keepScrolledToEnd(() => {
        const existing = lineNodes.get(key);
        if (existing) {
          // A second line of the same speaker and instant replaces the first, so a bot line that
          // the server sends again after barge-in cut it is updated in place.
          existing.replaceWith(node);
        } else if (interimNode) {
          transcript.insertBefore(node, interimNode);
        } else {
          transcript.append(node);
        }
        lineNodes.set(key, node);
        if (speaker === "debtor" && interimNode) {
          interimNode.remove();
          interimNode = null;
        }
      });
    }

    function setInterim(text) {
      if (!text) {
        if (interimNode) interimNode.remove();
        interimNode = null;
        return;
      }
      transcriptEmpty.remove();
      keepScrolledToEnd(() => {
        if (!interimNode) {
          interimNode = el(
            "li",
            { class: "line debtor interim" },
            el("span", { class: "speaker", text: codeLabel("speaker", "debtor") }),
            el("span", { class: "mark", text: t("line_interim") }),
            el("span", { class: "text" }),
          );
          transcript.append(interimNode);
        }
        interimNode.querySelector(".text").textContent = text;
      });
    }

    function addTurn(timings) {
      turnCount += 1;
      stripEmpty.remove();
      strip.append(latencyBar(timings, turnCount));
      turnsBody.append(
        el("tr", null, el("td", { text: formatInteger(turnCount) }), LATENCY_STAGES.map((stage) => el("td", { class: "number", text: formatMs(timings[stage]) }))),
      );
    }

    function showPromise(stored) {
      const summary = promiseSummary(stored);
      if (!summary) return;
      if (promiseBox.querySelector(".empty")) promiseBox.replaceChildren();
      promiseBox.append(summary);
    }

    function showRecording(url) {
      if (url) {
        recordingBox.replaceChildren(el("audio", { controls: true, preload: "none", src: url }));
      } else {
        recordingBox.replaceChildren(emptyNote(live ? t("call_recording_live") : t("call_no_recording")));
      }
    }

    // Header, actions and panels.
    const debtorId = debtor.id || attempt.debtor_id;
    container.append(
      el(
        "div",
        { class: "call-view" },
        el(
          "div",
          { class: "call-main" },
          el(
            "section",
            { class: "panel" },
            el("div", { class: "call-header" }, liveBadge, stateBox, dispositionBox),
            details([
              [t("call_debtor"), debtorLink(debtorId, debtor.name || debtor.full_name || debtorId)],
              [t("col.phone"), debtor.phone || attempt.phone || t("none")],
              [t("col.country"), debtor.country ? `${countryName(debtor.country)} (${debtor.country})` : t("none")],
              [t("col.campaign"), attempt.campaign || t("none")],
              [t("col.direction"), codeLabel("direction", attempt.direction)],
              [t("col.started"), formatDateTime(attempt.started_at)],
              [t("col.ended"), formatDateTime(attempt.ended_at)],
              [t("col.rpc"), yesNo(attempt.right_party_contact)],
              [t("call_sid"), attempt.call_sid || t("none")],
            ]),
            el("div", { class: "actions" }, listenButton, transferButton, endButton),
          ),
          section(t("call_transcript"), transcript),
        ),
        el(
          "div",
          { class: "call-side" },
          section(t("col.promise"), promiseBox),
          section(
            t("call_latency"),
            el("p", { class: "hint", text: t("call_latency_hint") }),
            strip,
            stripEmpty,
            el("ul", { class: "legend" }, LATENCY_STAGES.map((stage) => el("li", null, el("span", { class: `swatch ${stage}` }), t(`stage.${stage}`)))),
          ),
          section(t("call_turns"), el("div", { class: "table-scroll" }, turnsTable)),
          section(t("call_recording"), recordingBox),
        ),
      ),
    );
    const guide = el("div", { class: "slow-line" });
    guide.style.bottom = `${(SLOW_TURN_MS / LATENCY_SCALE_MS) * 100}%`;
    strip.append(guide);

    transcript.append(transcriptEmpty);
    for (const line of Array.isArray(data.transcript) ? data.transcript : []) addLine(line);
    promiseBox.append(emptyNote(t("call_promise_none")));
    for (const stored of Array.isArray(data.promises) ? data.promises : []) showPromise(stored);
    for (const turn of Array.isArray(data.turns) ? data.turns : []) addTurn(turnTimings(turn));
    setState(data.state || (live ? null : "ended"));
    setDisposition(attempt.disposition);
    setLive(live);
    showRecording(data.recording_url);

    // Actions.
    async function postAction(path, notice) {
      try {
        await api("POST", `/console/api/calls/${encodeURIComponent(attemptId)}/${path}`, {});
        flash(notice, "notice");
      } catch (error) {
        reportError(error);
      }
    }
    transferButton.addEventListener("click", () => postAction("transfer", t("transfer_requested")));
    endButton.addEventListener("click", () => postAction("end", t("end_requested")));

    listenButton.addEventListener("click", () => {
      if (listen) {
        listen.stop();
        return;
      }
      listen = new ListenIn(attemptId, () => {
        listen = null;
        listenButton.textContent = t("listen");
        listenButton.setAttribute("aria-pressed", "false");
        setLive(live);
      });
      listen.start();
      listenButton.textContent = t("listen_stop");
      listenButton.setAttribute("aria-pressed", "true");
    });
    scope.onClose(() => {
      if (listen) listen.stop();
    });

    // Live events.
    function receive(raw) {
      let message;
      try {
        message = JSON.parse(raw);
      } catch (error) {
        console.warn("call message is not JSON", error);
        return;
      }
      switch (message.type) {
        case "history":
          // The lines spoken before this socket opened: lines already shown are replaced in
          // place, so nothing is shown twice and nothing said in between is lost.
          for (const line of Array.isArray(message.transcript) ? message.transcript : []) addLine(line);
          if (message.call && message.call.state) setState(message.call.state);
          for (const turn of (Array.isArray(message.turns) ? message.turns : []).slice(turnCount)) addTurn(turnTimings(turn));
          break;
        case "line":
          if (message.line) addLine(message.line);
          break;
        case "interim":
          setInterim(message.text);
          break;
        case "state":
          setState(message.state);
          break;
        case "turn":
          addTurn(turnTimings(message));
          break;
        case "promise":
          showPromise(message.promise);
          break;
        case "ended":
          setInterim("");
          setDisposition(message.disposition);
          setState("ended");
          setLive(false);
          // The recording is written after the call ends, so it is looked up again shortly.
          // The view is drawn again from the store then, with the end time and verification.
          scope.timeout(() => {
            if (scope.active) route();
          }, 3000);
          break;
        default:
          break;
      }
    }


    if (live) {
      const socket = new WebSocket(socketUrl(`/console/ws/calls/${encodeURIComponent(attemptId)}`));
      socket.addEventListener("message", (event) => {
        callReloads.delete(attemptId);
        receive(event.data);
      });
      socket.addEventListener("close", () => {
        if (!scope.active || !live) return;
        const reloads = callReloads.get(attemptId) || 0;
        if (reloads >= CALL_MAX_RELOADS) {
          flash(t("call_connection_failed"), "error");
          return;
        }
        callReloads.set(attemptId, reloads + 1);
        // Reloading the view reads the transcript again, so no line sent meanwhile is lost.
        flash(t("call_connection_lost"), "notice");
        scope.timeout(route, 3000);
      });
      scope.onClose(() => socket.close());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // History
  // ---------------------------------------------------------------------------------------------

  const HISTORY_FIELDS = ["debtor", "phone", "from", "to", "campaign", "disposition", "limit"];
  const HISTORY_DEFAULT_LIMIT = "100";

  function field(id, labelKey, input) {
    input.id = id;
    return el("div", { class: "field" }, el("label", { for: id, text: t(labelKey) }), input);
  }

  /** Returns a select of dispositions sorted by label, with an "any" entry first. */
  function dispositionSelect(selected) {
    const options = DISPOSITIONS.map((code) => ({ code, label: codeLabel("disposition", code) })).sort((a, b) =>
      a.label.localeCompare(b.label, locale()),
    );
    return el(
      "select",
      { name: "disposition" },
      el("option", { value: "", text: t("history_any") }),
      options.map(({ code, label }) => el("option", { value: code, text: label, selected: code === selected })),
    );
  }

  /** Navigates to `hash`, or renders the view again when the hash is already that. */
  function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  async function renderHistory(container, scope, query) {
    const value = (name) => query.get(name) || "";
    const form = el(
      "form",
      { id: "history-form", class: "filters" },
      field("history-debtor", "history_debtor", el("input", { name: "debtor", type: "text", value: value("debtor"), autocomplete: "off" })),
      field("history-phone", "history_phone", el("input", { name: "phone", type: "text", inputmode: "numeric", value: value("phone"), autocomplete: "off" })),
      field("history-from", "history_from", el("input", { name: "from", type: "date", value: value("from") })),
      field("history-to", "history_to", el("input", { name: "to", type: "date", value: value("to") })),
      field("history-campaign", "history_campaign", el("input", { name: "campaign", type: "text", value: value("campaign"), autocomplete: "off" })),
      field("history-disposition", "history_disposition", dispositionSelect(value("disposition"))),
      field("history-limit", "history_limit", el("input", { name: "limit", type: "number", min: "1", max: "1000", value: value("limit") || HISTORY_DEFAULT_LIMIT })),
      el(
        "div",
        { class: "field buttons" },
        el("button", { type: "submit", id: "history-submit", text: t("history_search") }),
        el("button", { type: "reset", class: "secondary", text: t("history_clear") }),
      ),
    );
    const results = el("div", { id: "history-results" }, emptyNote(t("loading")));
    container.append(form, results);

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = {};
      for (const name of HISTORY_FIELDS) params[name] = form.elements[name].value;
      navigate(hashWithQuery("history", params));
    });
    form.addEventListener("reset", (event) => {
      event.preventDefault();
      navigate("#/history");
    });

    const request = new URLSearchParams();
    for (const name of HISTORY_FIELDS) {
      const given = value(name).trim();
      if (given) request.set(name, given);
    }
    if (!request.has("limit")) request.set("limit", HISTORY_DEFAULT_LIMIT);
    let data;
    try {
      data = await api("GET", `/console/api/calls?${request}`);
    } catch (error) {
      if (scope.active) results.replaceChildren(emptyNote(error.message));
      throw error;
    }
    if (!scope.active) return;
    const calls = Array.isArray(data.calls) ? data.calls : [];
    if (calls.length === 0) {
      results.replaceChildren(emptyNote(t("history_empty")));
      return;
    }
    const rows = calls.map((call) =>
      el(
        "tr",
        { dataset: { attempt: String(call.attempt_id) }, class: "clickable" },
        el("td", null, callLink(call.attempt_id)),
        el("td", { text: formatDateTime(call.started_at) }),
        el("td", { text: formatDateTime(call.ended_at) }),
        el("td", null, debtorLink(call.debtor_id, call.debtor || call.debtor_name || call.debtor_id)),
        el("td", { text: call.phone || t("none") }),
        el("td", { text: call.country || t("none") }),
        el("td", { text: call.campaign || t("none") }),
        el("td", { text: codeLabel("direction", call.direction) }),
        el("td", { dataset: { disposition: call.disposition || "" }, text: codeLabel("disposition", call.disposition) }),
        el("td", { text: yesNo(call.right_party_contact) }),
        el("td", { text: call.has_recording ? t("history_recording_yes") : t("none") }),
      ),
    );
    const headers = ["attempt", "started", "ended", "debtor", "phone", "country", "campaign", "direction", "disposition", "rpc", "recording"];
    const resultTable = table("history-table", headers, rows);
    resultTable.querySelector("tbody").addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      const row = event.target.closest("tr[data-attempt]");
      if (row) location.hash = `#/calls/${encodeURIComponent(row.dataset.attempt)}`;
    });
    results.replaceChildren(
      el("p", { class: "result-count", text: t("history_count", { count: formatInteger(calls.length) }) }),
      el("div", { class: "table-scroll" }, resultTable),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Promises
  // ---------------------------------------------------------------------------------------------

  const PROMISE_VIEWS = ["due", "broken", "kept"];

  function promiseRows(promises, withFollowUp) {
    return promises.map((promise) =>
      el(
        "tr",
        { dataset: { promise: String(promise.promise_id) } },
        el("td", { text: String(promise.promise_id) }),
        el("td", null, debtorLink(promise.debtor_id, promise.debtor || promise.debtor_name || promise.debtor_id)),
        el("td", { text: promise.account_ref || t("none") }),
        el("td", { class: "number", text: formatMoney(promise.amount) }),
        el("td", { text: formatDay(promise.due_date) }),
        el("td", { dataset: { status: promise.status || "" }, text: codeLabel("promise_status", promise.status) }),
        withFollowUp
          ? el("td", { text: promise.follow_up_at ? formatDateTime(promise.follow_up_at) : t("promises_follow_up_none") })
          : null,
        el("td", null, promise.attempt_id != null ? callLink(promise.attempt_id) : t("none")),
      ),
    );
  }

  function promiseHeaders(withFollowUp) {
    return ["promise", "debtor", "account", "amount", "due_date", "status", withFollowUp ? "follow_up" : null, "attempt"].filter(Boolean);
  }

  async function renderPromises(container, scope, query) {
    const current = PROMISE_VIEWS.includes(query.get("view")) ? query.get("view") : "due";
    const tabs = el(
      "div",
      { class: "tabs", role: "tablist" },
      PROMISE_VIEWS.map((name) =>
        el("a", {
          role: "tab",
          href: `#/promises?view=${name}`,
          class: name === current ? "tab active" : "tab",
          "aria-selected": name === current ? "true" : "false",
          dataset: { tab: name },
          text: t(`promises_tab.${name}`),
        }),
      ),
    );
    const body = el("div", { class: "tab-body" }, emptyNote(t("loading")));
    container.append(el("section", { id: "promises", dataset: { view: current } }, tabs, body));

    const data = await api("GET", `/console/api/promises?view=${current}`);
    if (!scope.active) return;
    const promises = Array.isArray(data.promises) ? data.promises : [];
    if (promises.length === 0) {
      body.replaceChildren(emptyNote(t("promises_empty")));
      return;
    }
    const withFollowUp = current === "broken" || promises.some((promise) => promise.follow_up_at);
    body.replaceChildren(el("div", { class: "table-scroll" }, table("promises-table", promiseHeaders(withFollowUp), promiseRows(promises, withFollowUp))));
  }

  // ---------------------------------------------------------------------------------------------
  // Campaigns
  // ---------------------------------------------------------------------------------------------

  /** Renders [[code, count], ...] as a list of labelled counts. */
  function countList(group, pairs) {
    const entries = Array.isArray(pairs) ? pairs : [];
    if (entries.length === 0) return el("span", { class: "muted", text: t("list_none") });
    return el(
      "ul",
      { class: "counts" },
      entries.map(([code, total]) =>
        el("li", { dataset: { code } }, el("span", { text: codeLabel(group, code) }), " ", el("strong", { text: formatInteger(total) })),
      ),
    );
  }

  const CAMPAIGN_ACTIONS = [
    { action: "pause", allowed: ["running"] },
    { action: "resume", allowed: ["paused"] },
    { action: "stop", allowed: ["running", "paused", "draft"] },
  ];

  function campaignRow(entry, onAction) {
    const campaign = entry.campaign || {};
    const progress = entry.progress || {};
    const settings = campaign.settings || {};
    const targets = progress.targets || 0;
    const done = progress.done || 0;
    const countries = settings.filter && Array.isArray(settings.filter.countries) ? settings.filter.countries : [];
    const notes = [];
    if (settings.max_concurrent_calls) {
      notes.push(t("campaign_settings", { calls: formatInteger(settings.max_concurrent_calls), rate: formatInteger(settings.calls_per_second) }));
    }
    if (countries.length > 0) notes.push(t("campaign_countries", { countries: countries.join(", ") }));

    const buttons = CAMPAIGN_ACTIONS.map(({ action, allowed }) => {
      const style = action === "stop" ? "danger" : "secondary";
      const button = el("button", { type: "button", class: `${action} small ${style}`, text: t(`campaign_${action}`) });
      button.disabled = !allowed.includes(campaign.status);
      button.addEventListener("click", () => onAction(campaign.name, action, button));
      return button;
    });

    return el(
      "tr",
      { dataset: { campaign: campaign.name, status: campaign.status || "" } },
      el("td", null, el("strong", { text: campaign.name }), notes.map((note) => el("div", { class: "muted small", text: note }))),
      el("td", null, el("span", { class: `badge status-${campaign.status}`, text: codeLabel("campaign_status", campaign.status) })),
      el(
        "td",
        { class: "progress-cell" },
        el("progress", { max: String(Math.max(targets, 1)), value: String(done) }),
        el("div", { class: "small", text: t("campaign_done", { done: formatInteger(done), targets: formatInteger(targets) }) }),
      ),
      el("td", { class: "number", text: formatInteger(progress.waiting) }),
      el("td", { class: "number", text: formatInteger(progress.due) }),
      el("td", { class: "number", text: formatInteger(progress.dialing) }),
      el("td", { class: "number", text: formatInteger(progress.attempts) }),
      el("td", null, countList("disposition", progress.outcomes)),
      el("td", null, countList("refusal", entry.skips || progress.skips)),
      canAct() ? el("td", { class: "actions" }, buttons) : null,
    );
  }

  async function renderCampaigns(container, scope) {
    const body = el("div", { class: "table-scroll" }, emptyNote(t("loading")));
    const refreshed = el("p", { class: "muted small" });
    container.append(el("section", { id: "campaigns" }, refreshed, body));
    const rowKeys = new Map();
    let tbody = null;

    async function act(name, action, button) {
      button.disabled = true;
      try {
        const result = await api("POST", `/console/api/campaigns/${encodeURIComponent(name)}/${action}`, {});
        const status = result && result.campaign ? result.campaign.status : null;
        flash(t("campaign_updated", { name, status: codeLabel("campaign_status", status) }), "notice");
      } catch (error) {
        reportError(error);
      }
      await load();
    }

    async function load() {
      const data = await api("GET", "/console/api/campaigns");
      if (!scope.active) return;
      const entries = Array.isArray(data.campaigns) ? data.campaigns : [];
      refreshed.textContent = t("campaigns_refreshed", { time: formatClock(new Date().toISOString()) });
      if (entries.length === 0) {
        tbody = null;
        rowKeys.clear();
        body.replaceChildren(emptyNote(t("campaigns_empty")));
        return;
      }
      if (!tbody) {
        const headers = ["campaign", "status", "progress", "waiting", "due", "dialing", "attempts", "outcomes", "skips"];
        if (canAct()) headers.push("actions");
        const campaignsTable = table("campaigns-table", headers, []);
        tbody = campaignsTable.querySelector("tbody");
        body.replaceChildren(campaignsTable);
      }
      // Rows whose data did not change stay as they are, so polling does not disturb a click.
      const seen = new Set();
      let previous = null;
      for (const entry of entries) {
        const name = entry.campaign && entry.campaign.name;
        seen.add(name);
        const key = JSON.stringify(entry);
        let row = tbody.querySelector(`tr[data-campaign="${CSS.escape(name)}"]`);
        if (!row || rowKeys.get(name) !== key) {
          const fresh = campaignRow(entry, act);
          if (row) row.replaceWith(fresh);
          row = fresh;
          rowKeys.set(name, key);
        }
        if (previous ? previous.nextSibling !== row : tbody.firstChild !== row) {
          if (previous) previous.after(row);
          else tbody.prepend(row);
        }
        previous = row;
      }
      for (const row of [...tbody.querySelectorAll("tr[data-campaign]")]) {
        if (!seen.has(row.dataset.campaign)) {
          rowKeys.delete(row.dataset.campaign);
          row.remove();
        }
      }
    }

    await load();
    scope.interval(() => load().catch(reportError), CAMPAIGN_REFRESH_MS);
  }

  // ---------------------------------------------------------------------------------------------
  // KPIs
  // ---------------------------------------------------------------------------------------------

  const KPI_SERIES_COUNTS = [
    { field: "dials", color: "#1f5fa8" },
    { field: "connects", color: "#2f8f83" },
    { field: "right_party_contacts", color: "#b7791f" },
    { field: "promises", color: "#a23b72" },
  ];
  const KPI_SERIES_RATES = [
    { field: "connect_rate", color: "#2f8f83" },
    { field: "right_party_contact_rate", color: "#b7791f" },
    { field: "promise_to_pay_rate", color: "#a23b72" },
  ];
  const CHART_HEIGHT = 220;

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  /** Returns the value at a dotted path (`kpis.connect_rate.value`, `policy_skips.0.1`). */
  function valueAt(object, path) {
    let value = object;
    for (const part of path.split(".")) {
      if (value === null || value === undefined) return undefined;
      value = value[part];
    }
    return value;
  }

  /**
   * Returns the element of one KPI figure: `data-kpi` is its path in the report JSON,
   * `data-value` the raw JSON value, and the text the localised format.
   */
  function figure(report, path, format, extra) {
    const value = valueAt(report, path);
    const present = value !== null && value !== undefined;
    return el("span", {
      class: "figure",
      "data-kpi": path,
      "data-value": JSON.stringify(present ? value : null),
      dataset: extra,
      text: present ? format(value) : t("not_available"),
    });
  }

  function moneyFigure(report, path, extra) {
    const money = valueAt(report, path);
    const currency = money && money.currency;
    return figure(report, `${path}.amount_minor`, (minor) => formatMinor(minor, currency), extra);
  }

  function moneyFigures(report, path, extra) {
    const list = valueAt(report, path);
    if (!Array.isArray(list) || list.length === 0) return el("span", { class: "figure muted", "data-kpi": path, "data-value": "[]", text: t("none") });
    return el("span", { class: "money-list" }, list.map((_, index) => moneyFigure(report, `${path}.${index}`, extra)));
  }

  /** Fills `{name}` placeholders of a message with nodes. */
  function messageWithNodes(key, nodes) {
    const parts = t(key).split(/(\{\w+\})/);
    return parts.map((part) => {
      const match = /^\{(\w+)\}$/.exec(part);
      return match && nodes[match[1]] !== undefined ? nodes[match[1]] : part;
    });
  }

  function denominatorName(name) {
    return codeLabel("denominator", name);
  }

  /** Returns the "6 of 10 dials" detail of a Rate, with money amounts when `currency` is given. */
  function rateDetail(report, path, currency) {
    const rate = valueAt(report, path);
    if (!rate) return null;
    const format = currency ? (minor) => formatMinor(minor, currency) : formatInteger;
    return el(
      "span",
      { class: "detail" },
      messageWithNodes("kpi_rate_detail", {
        numerator: figure(report, `${path}.numerator`, format),
        denominator: figure(report, `${path}.denominator`, format),
        name: denominatorName(rate.denominator_name),
      }),
    );
  }

  function card(label, value, detail) {
    return el(
      "div",
      { class: "card" },
      el("div", { class: "card-label", text: label }),
      el("div", { class: "card-value" }, value),
      detail ? el("div", { class: "card-detail" }, detail) : null,
    );
  }

  function rateCard(report, labelKey, path) {
    return card(t(labelKey), figure(report, `${path}.value`, formatPercent), rateDetail(report, path));
  }

  function kpiFunnel(report) {
    const steps = [
      { label: "kpi.dials", path: "kpis.dials" },
      { label: "kpi.connects", path: "kpis.connects", rate: "kpis.connect_rate" },
      { label: "kpi.right_party_contacts", path: "kpis.right_party_contacts", rate: "kpis.right_party_contact_rate" },
      { label: "kpi.promises", path: "kpis.promises", rate: "kpis.promise_to_pay_rate" },
      { label: "kpi.kept", path: "kpis.promise_kept_rate.numerator", rate: "kpis.promise_kept_rate" },
    ];
    const largest = Math.max(1, ...steps.map((step) => Number(valueAt(report, step.path)) || 0));
    return el(
      "div",
      { class: "funnel" },
      steps.map((step) => {
        const value = Number(valueAt(report, step.path)) || 0;
        const bar = el("div", { class: "funnel-bar" });
        bar.style.width = `${Math.max(0.5, (value / largest) * 100)}%`;
        const rate = step.rate ? valueAt(report, step.rate) : null;
        const rateOf = rate ? t("kpi_rate_of", { name: denominatorName(rate.denominator_name) }) : "";
        return el(
          "div",
          { class: "funnel-step" },
          el("div", { class: "funnel-label", text: t(step.label) }),
          el("div", { class: "funnel-track" }, bar),
          el("div", { class: "funnel-value" }, figure(report, step.path, formatInteger)),
          el(
            "div",
            { class: "funnel-rate" },
            step.rate ? [figure(report, `${step.rate}.value`, formatPercent), " ", el("span", { class: "muted", text: rateOf })] : null,
          ),
        );
      }),
    );
  }

  function kpiCallCards(report) {
    const amountRates = valueAt(report, "kpis.promise_kept_amount_rate") || [];
    return el(
      "div",
      { class: "cards" },
      card(t("kpi.inbound_calls"), figure(report, "kpis.inbound_calls", formatInteger)),
      card(t("kpi.contacts"), figure(report, "kpis.contacts", formatInteger)),
      rateCard(report, "kpi.contact_rate", "kpis.contact_rate"),
      card(t("kpi.handled_calls"), figure(report, "kpis.handled_calls", formatInteger)),
      card(t("kpi.average_handle_seconds"), figure(report, "kpis.average_handle_seconds", formatSeconds)),
      card(t("kpi.broken_promises"), figure(report, "kpis.broken_promises", formatInteger)),
      card(t("kpi.amount_promised"), moneyFigures(report, "kpis.amount_promised")),
      card(
        t("kpi.promise_kept_amount_rate"),
        amountRates.length === 0
          ? el("span", { class: "muted", text: t("none") })
          : el(
              "div",
              { class: "stack" },
              amountRates.map((entry, index) =>
                el(
                  "div",
                  null,
                  figure(report, `kpis.promise_kept_amount_rate.${index}.value`, formatPercent),
                  " ",
                  rateDetail(report, `kpis.promise_kept_amount_rate.${index}`, entry.currency),
                ),
              ),
            ),
      ),
    );
  }

  function seriesLabels(series) {
    return series.points.map((point) => {
      if (series.by === "hour") return `${point.bucket}:00`;
      const date = new Date(`${point.bucket}T00:00:00Z`);
      if (Number.isNaN(date.getTime())) return point.bucket;
      return formatter("date", { day: "numeric", month: "short", timeZone: "UTC" }).format(date);
    });
  }

  /** Draws one uPlot chart of the series into `host`, and returns it (null without uPlot). */
  function seriesChart(host, scope, series, lines, isRate) {
    if (typeof window.uPlot !== "function") return null;
    const labels = seriesLabels(series);
    const xs = series.points.map((_, index) => index);
    const columns = lines.map(({ field }) =>
      series.points.map((point) => {
        const value = isRate ? point[field] && point[field].value : point[field];
        if (value === null || value === undefined) return null;
        return isRate ? value * 100 : value;
      }),
    );
    const formatY = isRate ? (value) => formatPercent(value / 100) : formatInteger;
    const options = {
      width: Math.max(300, host.clientWidth),
      height: CHART_HEIGHT,
      scales: { x: { time: false }, y: isRate ? { range: (u, min, max) => [0, Math.max(10, Math.ceil(max / 10) * 10)] } : {} },
      series: [
        { label: series.by === "hour" ? t("kpi_by_hour") : t("kpi_by_day"), value: (u, value) => (value === null || value === undefined ? "" : labels[value] || "") },
        ...lines.map(({ field, color }) => ({
          label: t(`kpi.${field}`),
          stroke: color,
          width: 2,
          points: { show: series.points.length <= 40 },
          value: (u, value) => (value === null || value === undefined ? t("none") : formatY(value)),
        })),
      ],
      axes: [
        {
          incrs: [1, 2, 3, 4, 6, 7, 12, 14, 28, 30, 60, 90],
          values: (u, splits) => splits.map((value) => (Number.isInteger(value) && labels[value] ? labels[value] : "")),
        },
        { size: 64, values: (u, splits) => splits.map((value) => formatY(value)) },
      ],
    };
    const chart = new window.uPlot(options, [xs, ...columns], host);
    const observer = new ResizeObserver(() => {
      const width = Math.max(300, host.clientWidth);
      if (Math.abs(width - chart.width) > 2) chart.setSize({ width, height: CHART_HEIGHT });
    });
    observer.observe(host);
    scope.onClose(() => {
      observer.disconnect();
      chart.destroy();
    });
    return chart;
  }

  function seriesTable(report) {
    const points = report.series.points;
    const fields = ["dials", "inbound_calls", "connects", "contacts", "right_party_contacts", "promises"];
    const labels = seriesLabels(report.series);
    return el(
      "table",
      { class: "data compact" },
      headerRow([
        report.series.by === "hour" ? t("kpi_by_hour") : t("kpi_by_day"),
        ...fields.map((name) => t(`kpi.${name}`)),
        t("kpi.connect_rate"),
        t("kpi.promise_to_pay_rate"),
      ]),
      el(
        "tbody",
        null,
        points.map((point, index) =>
          el(
            "tr",
            null,
            el("th", { scope: "row", text: labels[index] }),
            fields.map((name) => el("td", { class: "number" }, figure(report, `series.points.${index}.${name}`, formatInteger))),
            el("td", { class: "number" }, figure(report, `series.points.${index}.connect_rate.value`, formatPercent)),
            el("td", { class: "number" }, figure(report, `series.points.${index}.promise_to_pay_rate.value`, formatPercent)),
          ),
        ),
      ),
    );
  }

  function kpiSeries(report, scope) {
    if (!report.series || !Array.isArray(report.series.points)) return [emptyNote(t("kpi_series_none"))];
    const countsHost = el("div", { class: "chart", id: "kpi-chart-counts" });
    const ratesHost = el("div", { class: "chart", id: "kpi-chart-rates" });
    // uPlot measures its host, so the charts are drawn once the hosts are in the page.
    requestAnimationFrame(() => {
      if (!scope.active) return;
      seriesChart(countsHost, scope, report.series, KPI_SERIES_COUNTS, false);
      seriesChart(ratesHost, scope, report.series, KPI_SERIES_RATES, true);
    });
    return [
      el("h3", { text: t("kpi_series_counts") }),
      countsHost,
      el("h3", { text: t("kpi_series_rates") }),
      ratesHost,
      el("details", null, el("summary", { text: t("kpi_series_data") }), el("div", { class: "table-scroll" }, seriesTable(report))),
    ];
  }

  function kpiCountryRow(code, report) {
    const extra = { country: code };
    return el(
      "tr",
      { dataset: { country: code } },
      el("th", { scope: "row", text: `${countryName(code)} (${code})` }),
      el("td", { class: "number" }, figure(report, "kpis.dials", formatInteger, extra)),
      el("td", { class: "number" }, figure(report, "kpis.inbound_calls", formatInteger, extra)),
      el("td", { class: "number" }, figure(report, "kpis.connect_rate.value", formatPercent, extra)),
      el("td", { class: "number" }, figure(report, "kpis.right_party_contacts", formatInteger, extra)),
      el("td", { class: "number" }, figure(report, "kpis.right_party_contact_rate.value", formatPercent, extra)),
      el("td", { class: "number" }, figure(report, "kpis.promises", formatInteger, extra)),
      el("td", { class: "number" }, figure(report, "kpis.promise_to_pay_rate.value", formatPercent, extra)),
      el("td", { class: "number" }, moneyFigures(report, "kpis.amount_collected", extra)),
      el("td", { class: "number" }, figure(report, "kpis.cost_per_promise.micros", formatUsdMicros, extra)),
    );
  }

  /** Requests the report of each country and fills `host` with one row per country with calls. */
  async function kpiByCountry(host, scope, report, params) {
    if (report.country) {
      host.replaceChildren(emptyNote(t("kpi_by_country_single")));
      return;
    }
    host.replaceChildren(emptyNote(t("loading")));
    const countries = Array.isArray(report.countries) && report.countries.length > 0 ? report.countries : JURISDICTION_COUNTRIES;
    const results = await Promise.all(
      countries.map(async (code) => {
        const query = new URLSearchParams({ from: params.from, to: params.to, country: code });
        try {
          return { code, report: await api("GET", `/console/api/kpis?${query}`) };
        } catch (error) {
          return { code, error };
        }
      }),
    );
    if (!scope.active) return;
    const failed = results.find((result) => result.error);
    if (failed) reportError(failed.error);
    const withCalls = results.filter((result) => result.report && (result.report.kpis.dials > 0 || result.report.kpis.inbound_calls > 0));
    if (withCalls.length === 0) {
      host.replaceChildren(emptyNote(t("kpi_by_country_none")));
      return;
    }
    const headers = [
      "dials",
      "inbound_calls",
      "connect_rate",
      "right_party_contacts",
      "right_party_contact_rate",
      "promises",
      "promise_to_pay_rate",
      "amount_collected",
      "cost_per_promise",
    ];
    host.replaceChildren(
      el("p", { class: "hint", text: t("kpi_by_country_note") }),
      el(
        "div",
        { class: "table-scroll" },
        el(
          "table",
          { class: "data compact", id: "kpi-by-country" },
          headerRow([t("kpi_country"), ...headers.map((name) => t(`kpi.${name}`))]),
          el("tbody", null, withCalls.map((result) => kpiCountryRow(result.code, result.report))),
        ),
      ),
    );
  }

  function kpiCohorts(report) {
    const cohorts = valueAt(report, "kpis.recovery") || [];
    if (cohorts.length === 0) return emptyNote(t("kpi_cohorts_none"));
    const horizons = cohorts[0].horizons.map((horizon) => horizon.days);
    return el(
      "table",
      { class: "data compact" },
      headerRow([
        ...["month", "currency", "debts", "placed"].map((key) => t(`col.${key}`)),
        ...horizons.map((days) => t("kpi_horizon", { days })),
      ]),
      el(
        "tbody",
        null,
        cohorts.map((cohort, index) => {
          const base = `kpis.recovery.${index}`;
          return el(
            "tr",
            null,
            el("th", { scope: "row", text: formatMonth(cohort.month) }),
            el("td", { text: cohort.currency }),
            el("td", { class: "number" }, figure(report, `${base}.debts`, formatInteger)),
            el("td", { class: "number" }, moneyFigure(report, `${base}.placed`)),
            cohort.horizons.map((horizon, position) =>
              el(
                "td",
                { class: horizon.complete ? "number" : "number incomplete" },
                figure(report, `${base}.horizons.${position}.rate.value`, formatPercent),
                el("div", { class: "small muted" }, moneyFigure(report, `${base}.horizons.${position}.collected`)),
                horizon.complete ? null : el("div", { class: "small muted", text: t("kpi_horizon_open") }),
              ),
            ),
          );
        }),
      ),
    );
  }

  function agingLabel(label) {
    const fixed = lookup(MESSAGES[session.language], `aging_bucket.${label}`);
    return typeof fixed === "string" ? fixed : t("aging_days", { label });
  }

  function kpiRollRates(report) {
    // Pairs of buckets without debts are left out, because every month pair lists all of them.
    const rolls = (valueAt(report, "kpis.roll_rates") || [])
      .map((roll, index) => ({ roll, index }))
      .filter(({ roll }) => roll.debts && roll.debts.denominator > 0);
    if (rolls.length === 0) return emptyNote(t("kpi_roll_rates_none"));
    return el(
      "table",
      { class: "data compact" },
      headerRow(["from_month", "to_month", "from_bucket", "to_bucket", "debts", "balance"].map((key) => t(`col.${key}`))),
      el(
        "tbody",
        null,
        rolls.map(({ roll, index }) => {
          const base = `kpis.roll_rates.${index}`;
          return el(
            "tr",
            null,
            el("td", { text: formatMonth(roll.from_month) }),
            el("td", { text: formatMonth(roll.to_month) }),
            el("td", { text: agingLabel(roll.from_bucket) }),
            el("td", { text: agingLabel(roll.to_bucket) }),
            el("td", null, figure(report, `${base}.debts.value`, formatPercent), " ", rateDetail(report, `${base}.debts`)),
            el(
              "td",
              null,
              (roll.balance || []).map((entry, position) => {
                const path = `${base}.balance.${position}`;
                return el("div", null, figure(report, `${path}.value`, formatPercent), " ", rateDetail(report, path, entry.currency));
              }),
            ),
          );
        }),
      ),
    );
  }

  function kpiAging(report) {
    const buckets = report.aging || [];
    return el(
      "table",
      { class: "data compact" },
      el("thead", null, el("tr", null, ["bucket", "debts", "balance"].map((key) => el("th", { scope: "col", text: t(`col.${key}`) })))),
      el(
        "tbody",
        null,
        buckets.map((bucket, index) =>
          el(
            "tr",
            null,
            el("th", { scope: "row", text: agingLabel(bucket.label) }),
            numberCell(figure(report, `aging.${index}.debts`, formatInteger)),
            numberCell(moneyFigures(report, `aging.${index}.balance`)),
          ),
        ),
      ),
    );
  }

  /** A card of a CostPer: the cost of one, and the count it divides by. */
  function costPerCard(report, labelKey, path) {
    const costPer = valueAt(report, path) || {};
    const count = el("span", { class: "detail" }, figure(report, `${path}.count`, formatInteger), " ", denominatorName(costPer.count_name));
    return card(t(labelKey), figure(report, `${path}.micros`, formatUsdMicros), count);
  }

  function kpiRecovery(report) {
    const unconverted = valueAt(report, "kpis.cost_to_collect.unconverted") || [];
    const costToCollect = figure(report, "kpis.cost_to_collect.value", (value) => t("kpi_cost_per_dollar", { value: formatUsdMicros(value * 1e6) }));
    return [
      el(
        "div",
        { class: "cards" },
        card(t("kpi.amount_collected"), moneyFigures(report, "kpis.amount_collected")),
        card(t("kpi.total_cost"), figure(report, "kpis.total_cost_micros", formatUsdMicros)),
        costPerCard(report, "kpi.cost_per_call", "kpis.cost_per_call"),
        costPerCard(report, "kpi.cost_per_promise", "kpis.cost_per_promise"),
        card(t("kpi.cost_to_collect"), costToCollect, unconverted.length > 0 ? t("kpi_unconverted", { currencies: unconverted.join(", ") }) : null),
        rateCard(report, "kpi.cure_rate", "kpis.cure_rate"),
      ),
      el("h3", { text: t("kpi_cohorts") }),
      el("div", { class: "table-scroll" }, kpiCohorts(report)),
      el("h3", { text: t("kpi_roll_rates") }),
      el("div", { class: "table-scroll" }, kpiRollRates(report)),
      el("h3", { text: t("kpi_aging") }),
      el("div", { class: "table-scroll" }, kpiAging(report)),
    ];
  }

  function kpiCompliance(report) {
    if (!report.compliance) return [emptyNote(t("kpi_compliance_none"))];
    const perThousand = (value) => t("kpi_per_thousand", { value: formatDecimal(value, 1) });
    return [
      el(
        "div",
        { class: "cards" },
        card(t("kpi.outbound_attempts"), figure(report, "compliance.counts.outbound_attempts", formatInteger)),
        card(t("kpi.outside_window"), figure(report, "compliance.counts.outside_window", formatInteger)),
        rateCard(report, "kpi.outside_window_rate", "compliance.outside_window_rate"),
        card(t("kpi.cap_breaches"), figure(report, "compliance.counts.cap_breaches", formatInteger)),
        card(t("kpi.debts_attempted"), figure(report, "compliance.counts.debts_attempted", formatInteger)),
        card(t("kpi.cap_breaches_per_thousand_debts"), figure(report, "compliance.cap_breaches_per_thousand_debts.value", perThousand)),
        card(t("kpi.voice_opt_outs"), figure(report, "compliance.counts.voice_opt_outs", formatInteger)),
        card(t("kpi.opt_outs_called_after"), figure(report, "compliance.counts.opt_outs_called_after", formatInteger)),
        rateCard(report, "kpi.opt_outs_called_after_rate", "compliance.opt_outs_called_after_rate"),
        card(t("kpi.attempts_after_opt_out"), figure(report, "compliance.counts.attempts_after_opt_out", formatInteger)),
        card(t("kpi.max_seconds_to_last_attempt"), figure(report, "compliance.max_seconds_to_last_attempt", formatSeconds)),
        card(t("kpi.mean_seconds_to_last_attempt"), figure(report, "compliance.mean_seconds_to_last_attempt", formatSeconds)),
      ),
    ];
  }

  function kpiPolicySkips(report) {
    const skips = Array.isArray(report.policy_skips) ? report.policy_skips : [];
    if (skips.length === 0) return emptyNote(t("kpi_policy_skips_none"));
    return el(
      "table",
      { class: "data compact", id: "kpi-policy-skips" },
      headerRow([t("col.reason"), t("col.count")]),
      el(
        "tbody",
        null,
        skips.map(([code], index) =>
          el(
            "tr",
            { dataset: { code } },
            el("td", { text: codeLabel("refusal", code) }),
            numberCell(figure(report, `policy_skips.${index}.1`, formatInteger)),
          ),
        ),
      ),
    );
  }

  function kpiParams(query) {
    const today = new Date();
    // The last 30 days, as `cobranza kpi` reports by default.
    const monthAgo = new Date(today.getTime() - 29 * 86400000);
    const by = query.get("by") === "hour" ? "hour" : "day";
    return { from: query.get("from") || isoDay(monthAgo), to: query.get("to") || isoDay(today), country: query.get("country") || "", by };
  }

  async function renderKpis(container, scope, query) {
    const params = kpiParams(query);
    const countrySelect = el(
      "select",
      { name: "country" },
      el("option", { value: "", text: t("kpi_all_countries") }),
      JURISDICTION_COUNTRIES.map((code) => el("option", { value: code, text: `${countryName(code)} (${code})`, selected: code === params.country })),
    );
    const form = el(
      "form",
      { class: "filters", id: "kpi-form" },
      field("kpi-from", "kpi_from", el("input", { type: "date", name: "from", value: params.from, required: true })),
      field("kpi-to", "kpi_to", el("input", { type: "date", name: "to", value: params.to, required: true })),
      field("kpi-country", "kpi_country", countrySelect),
      field(
        "kpi-by",
        "kpi_by",
        el(
          "select",
          { name: "by" },
          el("option", { value: "day", text: t("kpi_by_day"), selected: params.by === "day" }),
          el("option", { value: "hour", text: t("kpi_by_hour"), selected: params.by === "hour" }),
        ),
      ),
      el("div", { class: "field buttons" }, el("button", { type: "submit", text: t("kpi_show") })),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const name of ["from", "to", "country", "by"]) values[name] = form.elements[name].value;
      navigate(hashWithQuery("kpis", values));
    });
    const page = el("div", { id: "kpi-page" }, form, emptyNote(t("loading")));
    container.append(page);

    const request = new URLSearchParams({ from: params.from, to: params.to, by: params.by });
    if (params.country) request.set("country", params.country);
    const report = await api("GET", `/console/api/kpis?${request}`);
    if (!scope.active) return;

    const byCountry = el("div", { id: "kpi-by-country-panel" });
    page.replaceChildren(
      form,
      el("p", { class: "muted", text: t("kpi_range", { from: formatDay(report.from), to: formatDay(report.to) }) }),
      el(
        "div",
        { class: "kpi-grid" },
        section(t("kpi_funnel"), kpiFunnel(report), el("p", { class: "hint", text: t("kpi_funnel_note") })),
        section(t("kpi_calls"), kpiCallCards(report)),
      ),
      section(t("kpi_series"), kpiSeries(report, scope)),
      section(t("kpi_by_country"), byCountry),
      section(t("kpi_recovery"), kpiRecovery(report)),
      section(t("kpi_compliance"), kpiCompliance(report)),
      section(t("kpi_policy_skips"), kpiPolicySkips(report)),
    );
    await kpiByCountry(byCountry, scope, report, params);
  }

  // ---------------------------------------------------------------------------------------------
  // Debtor
  // ---------------------------------------------------------------------------------------------

  /** Formats an ISO date, and returns any other text as it is, such as a date masked for auditors. */
  function formatDayOrMasked(text) {
    if (!text) return null;
    return /^\d{4}-\d{2}-\d{2}$/.test(text) ? formatDay(text) : text;
  }

  function debtorDetails(debtor) {
    const channels = Array.isArray(debtor.authorised_channels) ? debtor.authorised_channels.join(", ") : null;
    const pairs = [
      [t("debtor_name"), debtor.full_name || debtor.name],
      [t("debtor_phone"), debtor.phone],
      [t("debtor_country"), debtor.country ? `${countryName(debtor.country)} (${debtor.country})` : null],
      [t("debtor_region"), debtor.region],
      [t("debtor_locale"), debtor.locale],
      [t("debtor_time_zone"), debtor.time_zone],
      [t("debtor_national_id"), debtor.national_id_last4],
      [t("debtor_birth_date"), formatDayOrMasked(debtor.birth_date)],
      [t("debtor_postal_code"), debtor.postal_code],
      [t("debtor_consent"), typeof debtor.call_consent === "boolean" ? yesNo(debtor.call_consent) : null],
      [t("debtor_channels"), channels],
    ];
    return details(pairs.filter(([, value]) => value !== undefined && value !== null && value !== ""));
  }

  function reasonRow(reason) {
    return el(
      "tr",
      null,
      el("td", { text: String(reason.characteristic).replace(/_/g, " ") }),
      el("td", { text: reason.bin }),
      numberCell(formatDecimal(reason.points, 1)),
      numberCell(formatDecimal(reason.points_below_best, 1)),
    );
  }

  function debtorScore(score) {
    if (!score) return emptyNote(t("debtor_score_none"));
    const pairs = [
      [t("debtor_probability"), formatPercent(score.probability)],
      [t("debtor_points"), formatInteger(score.points)],
      [t("debtor_segment"), score.segment],
      [t("debtor_strategy"), score.strategy],
      [t("debtor_expected_value"), typeof score.expected_value_usd === "number" ? formatUsdMicros(score.expected_value_usd * 1e6) : null],
      [t("debtor_model"), score.model_version],
      [t("debtor_scored_at"), score.scored_at ? formatDateTime(score.scored_at) : null],
      [t("debtor_as_of"), score.as_of ? formatDay(score.as_of) : null],
    ].filter(([, value]) => value !== undefined && value !== null && value !== "");
    const parts = [details(pairs)];
    // The explanation comes either as scored reasons (bin and points) or as ready sentences.
    if (Array.isArray(score.reasons) && score.reasons.length > 0) {
      parts.push(
        el("h3", { text: t("debtor_reasons") }),
        table("score-reasons", ["characteristic", "bin", "points", "points_below_best"], score.reasons.map(reasonRow)),
      );
    } else if (Array.isArray(score.top_reasons) && score.top_reasons.length > 0) {
      parts.push(el("h3", { text: t("debtor_reasons") }), el("ol", { class: "reasons" }, score.top_reasons.map((reason) => el("li", { text: String(reason) }))));
    }
    return parts;
  }

  function debtRows(debts) {
    return debts.map((debt) =>
      el(
        "tr",
        null,
        el("td", { text: debt.account_ref || t("none") }),
        el("td", { text: debt.creditor || t("none") }),
        el("td", { text: debt.product || t("none") }),
        el("td", { class: "number", text: formatMoney(debt.balance) }),
        el("td", { class: "number", text: formatInteger(debt.days_past_due) }),
      ),
    );
  }

  function attemptRows(attempts) {
    return attempts.map((call) =>
      el(
        "tr",
        { dataset: { attempt: String(call.attempt_id ?? call.id) } },
        el("td", null, callLink(call.attempt_id ?? call.id)),
        el("td", { text: formatDateTime(call.started_at) }),
        el("td", { text: codeLabel("direction", call.direction) }),
        el("td", { text: call.campaign || t("none") }),
        el("td", { text: codeLabel("disposition", call.disposition) }),
        el("td", { text: yesNo(call.right_party_contact) }),
      ),
    );
  }

  function optOutRows(optOuts) {
    // The store returns [channel, at] pairs and the contract names them {channel, at}, so both are read.
    return optOuts.map((entry) => {
      const channel = Array.isArray(entry) ? entry[0] : entry.channel;
      const at = Array.isArray(entry) ? entry[1] : entry.at;
      return el("tr", null, el("td", { text: channel }), el("td", { text: formatDateTime(at) }));
    });
  }

  function listOrNote(items, build) {
    return items.length === 0 ? emptyNote(t("debtor_none")) : el("div", { class: "table-scroll" }, build(items));
  }

  async function renderDebtor(container, scope, debtorId) {
    const host = el("div", { id: "debtor" }, emptyNote(t("loading")));
    container.append(host);
    const data = await api("GET", `/console/api/debtors/${encodeURIComponent(debtorId)}`);
    if (!scope.active) return;
    const debtor = data.debtor || {};
    const name = debtor.full_name || debtor.name;
    if (name) setTitle(`${t("title.debtor", { id: debtorId })} · ${name}`);
    const debts = Array.isArray(data.debts) ? data.debts : [];
    const attempts = Array.isArray(data.attempts) ? data.attempts : [];
    const promises = Array.isArray(data.promises) ? data.promises : [];
    const optOuts = Array.isArray(data.opt_outs) ? data.opt_outs : [];
    host.replaceChildren(
      el(
        "div",
        { class: "two-columns" },
        section(t("debtor_details"), debtorDetails(debtor)),
        section(t("debtor_score"), debtorScore(data.score)),
      ),
      section(t("debtor_debts"), listOrNote(debts, (items) => table("debts-table", ["account", "creditor", "product", "balance", "days_past_due"], debtRows(items)))),
      section(
        t("debtor_contacts"),
        listOrNote(attempts, (items) =>
          table("attempts-table", ["attempt", "started", "direction", "campaign", "disposition", "rpc"], attemptRows(items)),
        ),
      ),
      section(t("debtor_promises"), listOrNote(promises, (items) => table("promises-table", promiseHeaders(true), promiseRows(items, true)))),
      section(t("debtor_opt_outs"), optOuts.length === 0 ? emptyNote(t("debtor_opt_outs_none")) : table("opt-outs-table", ["channel", "at"], optOutRows(optOuts))),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Audit log
  // ---------------------------------------------------------------------------------------------

  const AUDIT_LIMITS = ["200", "500", "1000"];

  async function renderAudit(container, scope, query) {
    const limit = AUDIT_LIMITS.includes(query.get("limit")) ? query.get("limit") : AUDIT_LIMITS[0];
    const limitSelect = el("select", { name: "limit" }, AUDIT_LIMITS.map((value) => el("option", { value, text: formatInteger(Number(value)), selected: value === limit })));
    const filterInput = el("input", { type: "search", placeholder: t("audit_filter_placeholder") });
    const countLine = el("p", { class: "result-count" });
    const body = el("div", { class: "table-scroll" }, emptyNote(t("loading")));
    container.append(
      el(
        "section",
        { id: "audit" },
        el("div", { class: "filters" }, field("audit-limit", "audit_limit", limitSelect), field("audit-filter", "audit_filter", filterInput)),
        countLine,
        body,
      ),
    );
    limitSelect.addEventListener("change", () => navigate(hashWithQuery("audit", { limit: limitSelect.value })));

    const data = await api("GET", `/console/api/audit?limit=${limit}`);
    if (!scope.active) return;
    const entries = Array.isArray(data.entries) ? data.entries : [];
    if (entries.length === 0) {
      body.replaceChildren(emptyNote(t("audit_empty")));
      return;
    }
    const rows = entries.map((entry) => {
      const row = el(
        "tr",
        null,
        el("td", { text: formatDateTime(entry.at) }),
        el("td", { text: entry.username || t("none") }),
        el("td", { dataset: { action: entry.action || "" }, text: codeLabel("audit_action", entry.action) }),
        el("td", { text: entry.target || t("none") }),
        el("td", { class: "wrap", text: entry.detail || "" }),
      );
      return { row, text: [entry.username, entry.action, entry.target, entry.detail].join(" ").toLowerCase() };
    });
    body.replaceChildren(table("audit-table", ["at", "user", "action", "target", "detail"], rows.map((entry) => entry.row)));
    function applyFilter() {
      const needle = filterInput.value.trim().toLowerCase();
      let shown = 0;
      for (const entry of rows) {
        entry.row.hidden = needle !== "" && !entry.text.includes(needle);
        if (!entry.row.hidden) shown += 1;
      }
      countLine.textContent = t("audit_count", { shown: formatInteger(shown), total: formatInteger(rows.length) });
    }
    filterInput.addEventListener("input", applyFilter);
    applyFilter();
  }

  // ---------------------------------------------------------------------------------------------

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
