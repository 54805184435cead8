//! `cobranza user`: console users and their roles, managed on the store directly.

use std::io::BufRead;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::auth::{hash_password, MIN_PASSWORD_CHARS};
use super::store::{ConsoleStore, NewUser, Role};

/// The environment variable a new password is read from, so it never appears in the process list or shell history.
const PASSWORD_VARIABLE: &str = "COBRANZA_USER_PASSWORD";

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a console user with a role: admin, supervisor or auditor (reads everything, sees
    /// personal data masked, changes nothing). The password comes from COBRANZA_USER_PASSWORD,
    /// or else from the first line of standard input.
    Add {
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Set a user's password, read as for `add`; the user's sessions stay until they expire.
    Password { username: String },
    /// Change a user's role.
    Role { username: String, role: String },
    /// Stop a user from logging in and end their sessions.
    Disable { username: String },
    /// Let a disabled user log in again.
    Enable { username: String },
    /// Forget a user name's failed logins, so it may log in again before the window ends.
    Unlock { username: String },
    /// List the users with their roles.
    List,
}

/// Lower-case letters, digits, dots, dashes and underscores; 2 to 64 of them.
pub fn check_username(username: &str) -> anyhow::Result<String> {
    let name = username.trim().to_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_');
    if !(2..=64).contains(&name.chars().count()) || !name.chars().all(allowed) {
        bail!(
            "user name '{username}' is not valid: use 2 to 64 lower-case letters, digits, dots, dashes or underscores"
        );
    }
    Ok(name)
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    text.parse::<Role>().map_err(|_| anyhow::anyhow!("role '{text}' is unknown: use admin, supervisor or auditor"))
}

/// Reads the new password from the environment or standard input and checks its length.
fn new_password() -> anyhow::Result<String> {
    let password = match std::env::var(PASSWORD_VARIABLE) {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!(
            "the password is shorter than {MIN_PASSWORD_CHARS} characters: set a longer one in {PASSWORD_VARIABLE} or on standard input"
        );
    }
    Ok(password)
}

pub async fn run(store: &dyn ConsoleStore, command: UserCommand, now: DateTime<Utc>) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { username, role } => {
            let username = check_username(&username)?;
            let role = parse_role(&role)?;
            let password_hash = hash_password(&new_password()?).map_err(anyhow::Error::msg)?;
            let user = store.create_user(&NewUser { username, role, password_hash, created_at: now }).await?;
            println!("created {} ({})", user.username, user.role.as_str());
        }
        UserCommand::Password { username } => {
            let username = check_username(&username)?;
            let password_hash = hash_password(&new_password()?).map_err(anyhow::Error::msg)?;
            store.set_password_hash(&username, &password_hash).await?;
            println!("password of {username} changed");
        }
        UserCommand::Role { username, role } => {
            let username = check_username(&username)?;
            let role = parse_role(&role)?;
            store.set_user_role(&username, role).await?;
            println!("{username} is now {}", role.as_str());
        }
        UserCommand::Disable { username } => {
            let username = check_username(&username)?;
            store.set_user_disabled(&username, true).await?;
            println!("{username} disabled; their sessions ended");
        }
        UserCommand::Enable { username } => {
            let username = check_username(&username)?;
            store.set_user_disabled(&username, false).await?;
            println!("{username} enabled");
        }
        UserCommand::Unlock { username } => {
            let username = check_username(&username)?;
            store.clear_login_failures(&format!("user:{username}")).await?;
            println!("{username} may log in again");
        }
        UserCommand::List => {
            for user in store.users().await? {
                let state = if user.disabled { " (disabled)" } else { "" };
                println!("{}\t{}\t{}{state}", user.username, user.role.as_str(), user.language.as_str());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_folded_to_lower_case_and_limited_to_safe_characters() {
        assert_eq!(check_username(" Ana.Perez ").unwrap(), "ana.perez");
        assert!(check_username("a").is_err());
        assert!(check_username("ana perez").is_err());
        assert!(check_username("ana;drop").is_err());
    }
}
