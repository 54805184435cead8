//! Logistic regression fitted by Newton's method (iteratively reweighted least squares) with a
//! small ridge penalty, for the few weight-of-evidence columns of a scorecard.

/// Ridge penalty per row on the coefficients (not the intercept): keeps the fit finite when a
/// column separates the classes perfectly.
const RIDGE_PER_ROW: f64 = 1e-4;
const MAX_ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-9;

/// Fits `P(paid) = σ(b0 + Σ b_j x_j)` and returns `[b0, b1, ..]`.
pub fn fit(columns: &[Vec<f64>], paid: &[bool]) -> Vec<f64> {
    let rows = paid.len();
    let width = columns.len() + 1;
    let ridge = RIDGE_PER_ROW * rows as f64;
    let mut beta = vec![0.0; width];
    let value = |row: usize, column: usize| if column == 0 { 1.0 } else { columns[column - 1][row] };

    for _ in 0..MAX_ITERATIONS {
        // Gradient of the penalised log-likelihood and its (negated) Hessian.
        let mut gradient = vec![0.0; width];
        let mut hessian = vec![vec![0.0; width]; width];
        for row in 0..rows {
            let linear: f64 = (0..width).map(|column| beta[column] * value(row, column)).sum();
            let probability = 1.0 / (1.0 + (-linear).exp());
            let residual = f64::from(u8::from(paid[row])) - probability;
            let weight = probability * (1.0 - probability);
            for i in 0..width {
                let xi = value(row, i);
                gradient[i] += residual * xi;
                for j in i..width {
                    hessian[i][j] += weight * xi * value(row, j);
                }
            }
        }
        for i in 0..width {
            for j in 0..i {
                hessian[i][j] = hessian[j][i];
            }
            if i > 0 {
                gradient[i] -= ridge * beta[i];
                hessian[i][i] += ridge;
            }
        }
        let Some(step) = solve(hessian, gradient) else { break };
        let size: f64 = step.iter().map(|delta| delta.abs()).fold(0.0, f64::max);
        for (coefficient, delta) in beta.iter_mut().zip(&step) {
            *coefficient += delta;
        }
        if size < TOLERANCE {
            break;
        }
    }
    beta
}

/// Solves `matrix · x = vector` by Gaussian elimination with partial pivoting; `None` when the
/// matrix is singular.
fn solve(mut matrix: Vec<Vec<f64>>, mut vector: Vec<f64>) -> Option<Vec<f64>> {
    let size = vector.len();
    for column in 0..size {
        let pivot = (column..size).max_by(|&a, &b| matrix[a][column].abs().total_cmp(&matrix[b][column].abs()))?;
        if matrix[pivot][column].abs() < 1e-12 {
            return None;
        }
        matrix.swap(column, pivot);
        vector.swap(column, pivot);
        for row in column + 1..size {
            let factor = matrix[row][column] / matrix[column][column];
            for k in column..size {
                matrix[row][k] -= factor * matrix[column][k];
            }
            vector[row] -= factor * vector[column];
        }
    }
    let mut solution = vec![0.0; size];
    for row in (0..size).rev() {
        let known: f64 = (row + 1..size).map(|k| matrix[row][k] * solution[k]).sum();
        solution[row] = (vector[row] - known) / matrix[row][row];
    }
    Some(solution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_finds_exact_solution() {
        let solution = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![5.0, 10.0]).unwrap();
        assert!((solution[0] - 1.0).abs() < 1e-12);
        assert!((solution[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn intercept_alone_matches_base_rate() {
        // 30 payers in 100 rows: b0 = ln(30 / 70).
        let paid: Vec<bool> = (0..100).map(|row| row < 30).collect();
        let beta = fit(&[], &paid);
        assert!((beta[0] - (30.0_f64 / 70.0).ln()).abs() < 1e-9, "{beta:?}");
    }

    #[test]
    fn recovers_planted_coefficients() {
        // Four groups of x with known pay rates on the logistic curve b0 = -1, b1 = 2.
        let mut column = Vec::new();
        let mut paid = Vec::new();
        for x in [-1.0_f64, 0.0, 0.5, 1.0] {
            let rate = 1.0 / (1.0 + (-(-1.0 + 2.0 * x)).exp());
            let payers = (rate * 10_000.0).round() as usize;
            for row in 0..10_000 {
                column.push(x);
                paid.push(row < payers);
            }
        }
        let beta = fit(&[column], &paid);
        assert!((beta[0] + 1.0).abs() < 0.01, "{beta:?}");
        assert!((beta[1] - 2.0).abs() < 0.01, "{beta:?}");
    }
}
