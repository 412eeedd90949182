//! The console's sort by precomputed keys orders exactly as the comparator
//! `columns::compare` does, for every column and direction.

use super::*;
use crate::domain::GroupRef;

fn rows() -> Vec<Row> {
    let names = [
        (Some("Ann"), Some("Smith")),
        (Some("ann"), Some("smith")),
        (Some("Émile"), Some("Zola")),
        (Some("emile"), None),
        (None, Some("Öz")),
        (None, None),
        (Some("Zoë"), Some("Ångström")),
        (Some("ZOE"), Some("a")),
    ];
    let roles = [
        Some("Administrator"),
        Some("User"),
        None,
        Some("Read Only User"),
    ];
    (0..64)
        .map(|i: i64| {
            let (first, last) = names[i as usize % names.len()];
            let user = User {
                id: 1000 - i * 7 % 13 - i,
                // duplicate names up to case: the id breaks the tie
                user_name: match i % 5 {
                    0 => format!("User{}", i % 3),
                    1 => format!("user{}", i % 3),
                    2 => format!("Ünïcode{}", i % 4),
                    _ => format!("x{i}"),
                },
                first_name: first.map(String::from),
                last_name: last.map(String::from),
                system_role: roles[i as usize % roles.len()].map(String::from),
                disabled: (i % 3 != 0).then_some(i % 2 == 0),
                locked: Some(i % 4 == 0),
                mfa_enabled: (i % 5 != 0).then_some(i % 3 == 0),
                last_login: (i % 6 != 0)
                    .then(|| chrono::Utc::now() - chrono::Duration::days(i % 9)),
                user_groups: (i % 4 != 0).then(|| {
                    (0..i % 3)
                        .map(|g| GroupRef {
                            id: g,
                            name: ["SOC", "soc", "Ünit"][g as usize].into(),
                        })
                        .collect()
                }),
                ..Default::default()
            };
            // Sorting reads no search text.
            Row {
                user,
                search: Default::default(),
            }
        })
        .collect()
}

#[test]
fn keyed_sort_matches_the_comparator_for_every_column_and_direction() {
    let rows = rows();
    let ties = {
        let mut ranks = vec![0u32; rows.len()];
        for (rank, row) in by_account(&rows).into_iter().enumerate() {
            ranks[row as usize] = rank as u32;
        }
        ranks
    };
    for column in Column::ALL {
        for ascending in [true, false] {
            let mut expected: Vec<u32> = (0..rows.len() as u32).collect();
            expected.sort_by(|a, b| ordering(&rows, column, ascending, *a, *b));
            let mut got: Vec<u32> = (0..rows.len() as u32).rev().collect();
            sort_by_column(&rows, &ties, column, &mut got);
            if !ascending {
                got.reverse();
            }
            assert_eq!(got, expected, "{column:?} ascending {ascending}");
        }
    }
}

#[test]
fn sorting_no_rows_is_no_panic() {
    let mut order = Vec::new();
    for column in Column::ALL {
        sort_by_column(&[], &[], column, &mut order);
    }
    assert!(by_account(&[]).is_empty());
}
