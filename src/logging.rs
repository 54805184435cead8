//! The log filter of the `cobranza` binary.

use tracing_subscriber::filter::{Directive, EnvFilter};

/// Targets whose records contain provider API keys at a level the filter must never pass.
///
/// tungstenite 0.29 logs the whole WebSocket upgrade request at TRACE, headers included, and the
/// Deepgram (`Authorization`) and ElevenLabs (`xi-api-key`) sockets carry their keys there. The
/// cap is INFO rather than DEBUG: a directive also turns its target on, and a DEBUG cap printed a
/// line per upgrade into every command's output.
const SECRET_TARGETS: [&str; 1] = ["tungstenite::handshake::client=info"];

/// Builds the log filter from `RUST_LOG`-style directives, capping the targets that would write
/// an API key. The cap wins over any directive for the same target in `directives`.
pub fn log_filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::new(directives);
    for target in SECRET_TARGETS {
        let directive: Directive = target.parse().expect("the capped targets are valid directives");
        filter = filter.add_directive(directive);
    }
    filter
}
