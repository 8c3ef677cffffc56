#![allow(clippy::unwrap_used)]

//! Passages taken from the corpora: Mintlify's documentation (`deploy/preview-deployments.mdx`,
//! `cli/install.mdx`) and tldr pages (`tar`, `git commit`, `ssh-keygen`).

use super::*;
use crate::stream::citations_in;

const HC: &str = "https://help.example.com/docs/articles";

fn passage(
    article: &str,
    title: &str,
    heading: &str,
    fragment: &str,
    text: &str,
    score: f32,
) -> Passage {
    let url = if fragment.is_empty() {
        format!("{HC}/{article}")
    } else {
        format!("{HC}/{article}#{fragment}")
    };
    Passage {
        article_id: format!("kba_{article}"),
        title: title.into(),
        heading: heading.into(),
        url,
        text: text.into(),
        about: String::new(),
        score,
    }
}

fn previews_intro(score: f32) -> Passage {
    passage(
        "preview-deployments",
        "Preview deployments",
        "",
        "",
        "<Info>\n  Preview deployments require a [Pro or Enterprise plan](https://mintlify.com/pricing?ref=preview-deployments).\n</Info>\n\n\
         Preview deployments let you see how changes to your docs look before merging to production. Each preview creates a shareable URL that updates automatically as you push new changes.\n\n\
         Preview URLs are publicly viewable by default. Share a preview link with anyone who needs to review your changes.",
        score,
    )
}

fn previews_forks(score: f32) -> Passage {
    passage(
        "preview-deployments",
        "Preview deployments",
        "Create preview deployments › Fork pull requests",
        "fork-pull-requests",
        "Pull requests opened from a fork do not generate preview deployments. The Mintlify GitHub App must be installed on a repository to generate a preview, so it cannot read a fork or build a preview against it.\n\n\
         A maintainer with write access to the main repository can preview changes from a fork. They can push the forked contributor's branch to a branch in the main repository or merge the fork into an integration branch. The GitHub App can then build a preview for a pull request opened from that branch.",
        score,
    )
}

fn previews_manual(score: f32) -> Passage {
    passage(
        "preview-deployments",
        "Preview deployments",
        "Create preview deployments › Manual previews",
        "manual-previews",
        "You can manually create a preview for any branch.\n\n\
         1. Go to your [dashboard](https://app.mintlify.com/).\n2. Click **Previews**.\n3. Click **Create custom preview**.\n\
         4. Enter the name of the branch you want to preview.\n5. Click **Create preview**.",
        score,
    )
}

fn cli_new_project(score: f32) -> Passage {
    passage(
        "install-the-cli",
        "Install the CLI",
        "Create a new project",
        "create-a-new-project",
        "To create a new documentation project from the Mintlify starter template, run the following command:\n\n\
         ```bash\nmint new [directory]\n```\n\n{/* vale off */}\n\n\
         If you do not specify a directory, the CLI prompts you to create a new subdirectory or overwrite the current directory.\n\n\
         <Warning>\n  Overwriting the current directory deletes any existing files.\n</Warning>\n\n\
         | Flag | Description |\n| --- | --- |\n| `--name` | Project name. The CLI prompts for this if not provided. |\n\
         | `--force` | Overwrite the current directory without prompting. |",
        score,
    )
}

fn tldr(name: &str, body: &str, score: f32) -> Passage {
    passage(&name.replace(' ', "-"), name, "", "", body, score)
}

fn tar(score: f32) -> Passage {
    tldr(
        "tar",
        "# tar\n\n> Archiving utility.\n> Often combined with a compression method, such as `gzip` or `bzip2`.\n\
         > More information: <https://www.gnu.org/software/tar/manual/tar.html>.\n\n\
         - [c]reate an archive and write it to a [f]ile:\n\n`tar cf {{path/to/target.tar}} {{path/to/file1 path/to/file2 ...}}`\n\n\
         - [c]reate a g[z]ipped archive and write it to a [f]ile:\n\n`tar czf {{path/to/target.tar.gz}} {{path/to/file1 path/to/file2 ...}}`\n\n\
         - E[x]tract a (compressed) archive [f]ile into the current directory [v]erbosely:\n\n`tar xvf {{path/to/source.tar[.gz|.bz2|.xz]}}`\n\n\
         - E[x]tract a (compressed) archive [f]ile into the target directory:\n\n`tar xf {{path/to/source.tar[.gz|.bz2|.xz]}} {{[-C|--directory]}} {{path/to/directory}}`\n\n\
         - Lis[t] the contents of a tar [f]ile [v]erbosely:\n\n`tar tvf {{path/to/source.tar}}`\n",
        score,
    )
}

fn git_commit(score: f32) -> Passage {
    tldr(
        "git commit",
        "# git commit\n\n> Commit files to the repository.\n> More information: <https://git-scm.com/docs/git-commit>.\n\n\
         - Open an editor to write a message and commit staged files to the repository:\n\n`git commit`\n\n\
         - Commit staged files to the repository with the specified message:\n\n`git commit {{[-m|--message]}} \"{{message}}\"`\n\n\
         - Update the last commit by adding the currently staged changes, changing the commit's hash and open an editor to change the message:\n\n`git commit --amend`\n",
        score,
    )
}

fn ssh_keygen(score: f32) -> Passage {
    tldr(
        "ssh-keygen",
        "# ssh-keygen\n\n> Generate SSH keys used for authentication, password-less logins, and other things.\n> See also: `ssh-copy-id`.\n\n\
         - Generate a key interactively:\n\n`ssh-keygen`\n\n\
         - Remove the keys of a host from the `known_hosts` file (useful when a known host has a new key):\n\n`ssh-keygen -R {{remote_host}}`\n\n\
         - Change the password of a key:\n\n`ssh-keygen -f {{~/.ssh/filename}} -p`\n",
        score,
    )
}

fn docs() -> Vec<Passage> {
    vec![
        previews_intro(0.82),
        previews_forks(0.74),
        previews_manual(0.55),
        cli_new_project(0.41),
    ]
}

fn ask(question: &str, passages: &[Passage]) -> Answer {
    answer(question, &[], passages, &Options::default())
}

/// Citations `[n]` in the text are 1, 2, … in order of first use, and match the sources.
fn assert_citations_in_order(answer: &Answer) {
    let mut first_uses: Vec<usize> = Vec::new();
    for n in citations_in(&answer.text) {
        if !first_uses.contains(&n) {
            first_uses.push(n);
        }
    }
    let expected: Vec<usize> = (1..=answer.sources.len()).collect();
    assert_eq!(first_uses, expected, "{}", answer.text);
}

#[test]
fn quotes_the_answering_sentence_not_the_first_line() {
    let answer = ask(
        "Why don't I get a preview for a pull request from a fork?",
        &docs(),
    );
    assert_eq!(answer.resolution, Resolution::Answered);
    assert_eq!(answer.response_type, ResponseType::Answer);
    assert!(
        answer.text.starts_with("From the documentation:\n\n"),
        "{}",
        answer.text
    );
    assert!(
        answer
            .text
            .contains("Pull requests opened from a fork do not generate preview deployments."),
        "{}",
        answer.text
    );
    // The page's first line is about previews but does not answer.
    assert!(
        !answer.text.contains("Preview deployments let you see"),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.sources,
        [Citation {
            url: format!("{HC}/preview-deployments#fork-pull-requests"),
            title: "Preview deployments".into(),
        }]
    );
    assert_citations_in_order(&answer);
}

#[test]
fn quotes_a_tldr_command_with_its_description() {
    let passages = [tar(0.9), git_commit(0.31)];
    let answer = ask(
        "how do I extract an archive into a target directory?",
        &passages,
    );
    // Both extraction lines answer (in place, or into a directory: the better one has all the
    // question's words); the creation lines, which share only "archive" and a path, do not.
    assert_eq!(
        answer.text,
        "From the documentation:\n\n\
         - E[x]tract a (compressed) archive [f]ile into the current directory [v]erbosely: \
         `tar xvf {{path/to/source.tar[.gz|.bz2|.xz]}}`\n\
         - E[x]tract a (compressed) archive [f]ile into the target directory: \
         `tar xf {{path/to/source.tar[.gz|.bz2|.xz]}} {{[-C|--directory]}} {{path/to/directory}}` [1]"
    );
    assert_eq!(answer.sources.len(), 1);
    assert_eq!(answer.sources[0].url, format!("{HC}/tar"));
}

#[test]
fn one_source_per_page_and_groups_in_reading_order() {
    let answer = ask("How do I manually create a preview of a branch?", &docs());
    assert_eq!(answer.resolution, Resolution::Answered);
    // Sentences from two passages of the same page: one source, the fragment of the best one.
    let pages: Vec<&str> = answer.sources.iter().map(|c| page_of(&c.url)).collect();
    let mut distinct = pages.clone();
    distinct.dedup();
    assert_eq!(pages, distinct, "{:?}", answer.sources);
    assert_eq!(
        answer.sources[0].url,
        format!("{HC}/preview-deployments#manual-previews")
    );
    let manual = answer
        .text
        .find("You can manually create a preview for any branch.")
        .unwrap();
    let enter = answer
        .text
        .find("Enter the name of the branch you want to preview.")
        .unwrap_or_else(|| panic!("{}", answer.text));
    assert!(manual < enter, "{}", answer.text);
    // The steps the sentence introduces come along, numbered as on the page.
    assert!(
        answer.text.contains(
            "\n\n1. Go to your [dashboard](https://app.mintlify.com/).\n2. Click **Previews**."
        ),
        "{}",
        answer.text
    );
    assert!(
        answer.text.ends_with("5. Click **Create preview**. [1]"),
        "{}",
        answer.text
    );
    assert_citations_in_order(&answer);
    assert_eq!(answer.text.matches("[1]").count(), 1, "{}", answer.text);
}

#[test]
fn several_pages_are_numbered_in_text_order() {
    let passages = [tar(0.7), git_commit(0.66), ssh_keygen(0.62)];
    // A compound question: each page covers a third of it, so the coverage bar is lowered.
    let opts = Options {
        min_coverage: 0.3,
        ..Options::default()
    };
    let answer = answer(
        "commit staged files with a message, change the password of an ssh key, list the contents of a tar file",
        &[],
        &passages,
        &opts,
    );
    let half = Options {
        min_coverage: 0.5,
        ..Options::default()
    };
    assert_eq!(
        super::answer("commit staged files with a message, change the password of an ssh key, list the contents of a tar file", &[], &passages, &half).resolution,
        Resolution::Unanswered,
        "no one page covers half of it"
    );
    assert_eq!(answer.sources.len(), 3, "{}", answer.text);
    assert_citations_in_order(&answer);
    for phrase in [
        "commit staged files to the repository",
        "Change the password of a key:",
        "Lis[t] the contents of a tar [f]ile [v]erbosely:",
    ] {
        assert!(answer.text.contains(phrase), "{phrase} in {}", answer.text);
    }
    // Each page's group carries that page's citation.
    let group_of = |phrase: &str| {
        let at = answer.text.find(phrase).unwrap();
        citations_in(&answer.text[at..])[0]
    };
    assert_eq!(
        answer.sources[group_of("Change the password") - 1].title,
        "ssh-keygen"
    );
    assert_eq!(
        answer.sources[group_of("Lis[t] the contents") - 1].title,
        "tar"
    );
}

#[test]
fn an_unrelated_question_is_unanswered_without_citations() {
    // Search may still return something above the threshold: pages that mention a word of
    // the question in an example (tldr's `llm` and `kosmorro`).
    let llm = tldr(
        "llm",
        "# llm\n\n> Interact with Large Language Models (LLMs) via remote APIs and models that can be installed and run on your machine.\n\n\
         - Download and run a prompt against a model:\n\n`llm {{[-m|--model]}} {{orca-mini-3b-gguf2-q4_0}} \"{{What is the capital of France?}}\"`\n",
        0.62,
    );
    let kosmorro = tldr(
        "kosmorro",
        "# kosmorro\n\n> Compute the ephemerides and the events for a given date, at a given position on Earth.\n\n\
         - Get ephemerides for Paris, France:\n\n`kosmorro {{[-p|--position]}} \"48.7996,2.3511\"`\n\n\
         - Get ephemerides for Paris, France, on June 9th, 2020:\n\n`kosmorro {{[-p|--position]}} \"48.7996,2.3511\" {{[-d|--date]}} \"2020-06-09\"`\n",
        0.42,
    );
    let cups = tldr(
        "cups-config",
        "# cups-config\n\n> Show technical information about your CUPS print server installation.\n\n\
         - Show the location of CUPS' configuration directory, if it won't start:\n\n`cups-config --serverroot`\n",
        0.53,
    );
    let passages = [
        llm,
        cups,
        kosmorro,
        tar(0.45),
        ssh_keygen(0.4),
        previews_intro(0.35),
    ];
    for question in [
        "What is the capital of France?",
        "who won the football world cup in 2018",
        "how many calories are in a banana",
        "best pizza recipe",
    ] {
        let answer = ask(question, &passages);
        assert_eq!(answer.resolution, Resolution::Unanswered, "{question}");
        assert!(
            answer.sources.is_empty(),
            "{question}: {:?}",
            answer.sources
        );
        assert_eq!(answer.text, "The documentation doesn't cover this.");
        assert!(citations_in(&answer.text).is_empty());
    }
}

#[test]
fn a_question_covered_too_little_gets_the_closest_pages() {
    // Relevant to search, each holding two of the question's six words: not an answer, but the
    // pages whose title or heading shares a word are suggested.
    let passages = [
        previews_intro(0.5),
        cli_new_project(0.45),
        previews_forks(0.42),
        tar(0.4),
    ];
    let question = "Can I password-protect and watermark a preview of a new project?";
    let answer = ask(question, &passages);
    assert_eq!(answer.resolution, Resolution::Unanswered);
    assert_eq!(
        answer.text,
        format!(
            "The documentation doesn't cover this.\n\nClosest pages:\n\n\
             - [Preview deployments]({HC}/preview-deployments) [1]\n\
             - [Install the CLI]({HC}/install-the-cli#create-a-new-project) [2]"
        )
    );
    // tar shares no word with the question; the second preview passage is the same page.
    let titles: Vec<&str> = answer.sources.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Preview deployments", "Install the CLI"]);
    assert_citations_in_order(&answer);

    let one = answer_with(&passages, question, 1);
    assert_eq!(one.sources.len(), 1);

    // Below the relevance threshold nothing is suggested, however many words are shared.
    let weak = [previews_intro(0.2), cli_new_project(0.18)];
    let answer = ask(question, &weak);
    assert_eq!(answer.resolution, Resolution::Unanswered);
    assert!(answer.sources.is_empty(), "{:?}", answer.sources);
}

fn answer_with(passages: &[Passage], question: &str, max_suggestions: usize) -> Answer {
    let opts = Options {
        max_suggestions,
        ..Options::default()
    };
    answer(question, &[], passages, &opts)
}

#[test]
fn a_passage_covering_too_little_of_the_question_is_not_an_answer() {
    // High score, but only "branch" and "preview" of seven words.
    let question = "How do I enforce branch protection rules and required reviews for previews?";
    let answer = ask(question, &[previews_manual(0.8)]);
    assert_eq!(answer.resolution, Resolution::Unanswered);
    assert_eq!(
        answer.text,
        format!(
            "The documentation doesn't cover this.\n\nClosest pages:\n\n\
             - [Preview deployments]({HC}/preview-deployments#manual-previews) [1]"
        )
    );
    assert_eq!(
        answer.sources.len(),
        1,
        "its heading shares a word: suggested"
    );
    // A lower bar answers from it.
    let opts = Options {
        min_coverage: 0.25,
        ..Options::default()
    };
    let answer = super::answer(question, &[], &[previews_manual(0.8)], &opts);
    assert_eq!(answer.resolution, Resolution::Answered);
}

#[test]
fn the_same_input_gives_the_same_answer_in_any_order() {
    let passages = docs();
    let first = ask(
        "What does the CLI do if I don't specify a directory for mint new?",
        &passages,
    );
    assert!(
        first
            .text
            .contains("If you do not specify a directory, the CLI prompts you to create a new subdirectory or overwrite the current directory."),
        "{}",
        first.text
    );
    for _ in 0..3 {
        assert_eq!(
            ask(
                "What does the CLI do if I don't specify a directory for mint new?",
                &passages
            ),
            first
        );
    }
    let mut reversed = passages.clone();
    reversed.reverse();
    assert_eq!(
        ask(
            "What does the CLI do if I don't specify a directory for mint new?",
            &reversed
        ),
        first
    );
}

#[test]
fn a_follow_up_is_read_with_the_thread() {
    let context = ["How do I create a tar archive?".to_string()];
    let answer = answer("And gzipped?", &context, &[tar(0.8)], &Options::default());
    assert_eq!(answer.resolution, Resolution::Answered);
    let gzipped = "[c]reate a g[z]ipped archive and write it to a [f]ile:";
    assert!(answer.text.contains(gzipped), "{}", answer.text);
    // The best unit comes first in reading order only if it is earlier in the page: here the
    // description line ("compression method, such as `gzip`") is also quoted, before it.
    let lines: Vec<&str> = answer.text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- ") && l.contains(gzipped)),
        "{}",
        answer.text
    );
}

#[test]
fn a_question_naming_a_page_quotes_its_opening() {
    let webhooks = passage(
        "webhooks",
        "Webhooks",
        "",
        "",
        "Tome calls your endpoint with a signed POST for each event. Retries back off for a day.\n\nSee the event list below.",
        0.7,
    );
    let answer = ask("webhooks?", &[webhooks]);
    assert_eq!(
        answer.text,
        "From the documentation:\n\nTome calls your endpoint with a signed POST for each event. \
         Retries back off for a day. [1]"
    );
}

#[test]
fn a_vague_question_gets_a_clarifying_question() {
    let auth = |article: &str, title: &str, score: f32| {
        passage(
            article,
            title,
            "",
            "",
            "Authentication uses an API key sent in the `Authorization` header.",
            score,
        )
    };
    let passages = [
        auth("api-keys", "API keys", 0.61),
        auth("sso", "Single sign-on", 0.6),
        auth("mcp", "MCP server", 0.59),
        auth("webhooks", "Webhooks", 0.3),
    ];
    let answer = ask("authentication", &passages);
    assert_eq!(answer.response_type, ResponseType::ClarifyingQuestion);
    assert_eq!(answer.resolution, Resolution::Answered);
    assert_eq!(
        answer.text,
        format!(
            "Your question matches several pages. Which one do you mean?\n\n\
             - [API keys]({HC}/api-keys) [1]\n- [Single sign-on]({HC}/sso) [2]\n- [MCP server]({HC}/mcp) [3]"
        )
    );
    assert_eq!(answer.sources.len(), 3);

    // One page has the word in its title: that is the page meant.
    let mut titled = passages.clone();
    titled[1].title = "Authentication".into();
    let answer = ask("authentication", &titled);
    assert_eq!(answer.response_type, ResponseType::Answer);
    // A longer question is answered.
    let answer = ask("how does authentication work with an API key", &passages);
    assert_eq!(answer.response_type, ResponseType::Answer);
}

#[test]
fn literal_bracketed_numbers_are_escaped() {
    let p = passage(
        "limits",
        "Rate limits",
        "",
        "",
        "The rate limit is 1000 requests per minute per key [2]. Bursts are allowed.",
        0.9,
    );
    let answer = ask("what is the rate limit per key?", &[p]);
    assert!(
        answer.text.contains("per key \\[2]. [1]"),
        "{}",
        answer.text
    );
    assert_eq!(citations_in(&answer.text), [1]);
}

#[test]
fn no_passages_or_no_words() {
    let none = ask("how do I install the CLI?", &[]);
    assert_eq!(none.resolution, Resolution::Unanswered);
    assert!(none.sources.is_empty());
    let empty = ask("how?", &docs());
    assert_eq!(empty.resolution, Resolution::Unanswered);
    assert!(empty.sources.is_empty());
}

#[test]
fn one_shared_word_is_no_answer_to_a_question_of_several() {
    // Search ranks the previews page high for "deploy"; the rest of the question is nowhere.
    let passages = [previews_intro(0.8), previews_manual(0.7), tar(0.6)];
    for question in ["how do I deploy a rocket", "what is the best preview song"] {
        let answer = ask(question, &passages);
        assert_eq!(answer.resolution, Resolution::Unanswered, "{question}");
        assert!(
            answer.sources.is_empty(),
            "{question}: {:?}",
            answer.sources
        );
    }
    // A one-word question needs its one word.
    let answer = ask("tar?", &passages);
    assert_eq!(answer.resolution, Resolution::Answered);
}

#[test]
fn typos_count_partly_and_never_through_another_word_of_the_question() {
    // "genrate" is one edit from "generate", "kee" too short to forgive: "ssh", "new" and half
    // of "genrate" make the two words needed.
    let answer = ask("genrate a new ssh kee", &[ssh_keygen(0.6)]);
    assert_eq!(answer.resolution, Resolution::Answered, "{}", answer.text);
    assert_eq!(answer.sources[0].title, "ssh-keygen");
    // "protect" is one edit from "project", but "project" is the question's own word: it counts
    // once. Two words ("new", "project") of six is too little to answer.
    let answer = ask(
        "Can I password-protect and watermark a new project with our logo?",
        &[cli_new_project(0.6)],
    );
    assert_eq!(answer.resolution, Resolution::Unanswered, "{}", answer.text);
}

#[test]
fn a_short_word_that_no_passage_has_may_be_a_typo() {
    let unzip = tldr(
        "unzip",
        "# unzip\n\n> Extract files/directories from Zip archives.\n\n\
         - Extract all files/directories from specific archives into the current directory:\n\n`unzip {{path/to/archive1.zip path/to/archive2.zip ...}}`\n",
        0.6,
    );
    // "fiel" is in no passage: one edit from "file", it counts half, as "extarct" does.
    let answer = ask("how do i extarct a zip fiel", std::slice::from_ref(&unzip));
    assert_eq!(answer.resolution, Resolution::Answered, "{}", answer.text);
    assert_eq!(answer.sources[0].title, "unzip");
    // A four-letter word that a retrieved passage has is that word, not another's typo: "tire"
    // is not "time" on the page that says "time".
    let time = tldr(
        "time",
        "# time\n\n> Measure how long a command ran.\n\n- Run a command and show the time it took:\n\n`time {{command}}`\n",
        0.6,
    );
    let tire = tldr("tyre", "# tyre\n\n> A flat tire.\n", 0.1);
    let answer = ask("how long for a tire", &[time, tire]);
    assert_eq!(answer.resolution, Resolution::Unanswered, "{}", answer.text);
}

#[test]
fn a_folder_is_a_directory() {
    // tldr says "directory"; people say "folder".
    let answer = ask("extract an archive into a folder", &[tar(0.6)]);
    assert_eq!(answer.resolution, Resolution::Answered, "{}", answer.text);
    assert!(
        answer.text.contains("into the target directory"),
        "{}",
        answer.text
    );
}

#[test]
fn every_page_that_answers_is_quoted_in_the_search_s_order() {
    // Both pages hold the question's words; the second matches less of it in any one sentence,
    // but it answers too: its best sentence is quoted and cited after the first page's.
    let answer = ask(
        "create a tar archive of a directory",
        &[tar(0.7), cli_new_project(0.5)],
    );
    assert_eq!(answer.resolution, Resolution::Answered);
    let titles: Vec<&str> = answer.sources.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["tar", "Install the CLI"], "{}", answer.text);
    assert_citations_in_order(&answer);
    // A page far below the best one (under PAGE_FLOOR of its score) is not quoted.
    let answer = ask(
        "create a tar archive of a directory",
        &[tar(0.9), cli_new_project(0.4)],
    );
    let titles: Vec<&str> = answer.sources.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["tar"], "{}", answer.text);
}

#[test]
fn a_follow_up_s_context_counts_toward_the_words_needed() {
    let scp = tldr(
        "scp",
        "# scp\n\n> Secure copy.\n> Copy files between hosts using Secure Copy Protocol over SSH.\n\n\
         - Copy a local file to a remote host:\n\n`scp {{path/to/local_file}} {{remote_host}}:{{path/to/remote_file}}`\n\n\
         - Recursively copy the contents of a directory from a remote host to a local directory:\n\n`scp -r {{remote_host}}:{{path/to/remote_directory}} {{path/to/local_directory}}`\n",
        0.6,
    );
    let alone = ask("and a whole directory?", std::slice::from_ref(&scp));
    assert_eq!(alone.resolution, Resolution::Unanswered, "{}", alone.text);
    let context = ["how do I copy a file over ssh".to_string()];
    let answer = answer(
        "and a whole directory?",
        &context,
        std::slice::from_ref(&scp),
        &Options::default(),
    );
    assert_eq!(answer.resolution, Resolution::Answered, "{}", answer.text);
    assert!(
        answer
            .text
            .contains("Recursively copy the contents of a directory"),
        "{}",
        answer.text
    );
}

#[test]
fn a_page_s_excerpt_and_tags_count_as_its_words_but_are_never_quoted() {
    // The Accordions page never says "collapsible" or "FAQ" in its text; its author's excerpt
    // and tags do.
    let mut accordions = passage(
        "accordions",
        "Accordions",
        "",
        "",
        "Use accordions to organize information. Users can expand and collapse each section.",
        0.6,
    );
    let question = "collapsible FAQ sections";
    assert_eq!(
        ask(question, std::slice::from_ref(&accordions)).resolution,
        Resolution::Unanswered
    );
    accordions.about = "Show and hide content sections.\ncollapsible content\nFAQ".into();
    let answer = ask(question, std::slice::from_ref(&accordions));
    assert_eq!(answer.resolution, Resolution::Answered, "{}", answer.text);
    assert_eq!(answer.sources.len(), 1);
    assert!(
        answer.text.contains("expand and collapse"),
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("Show and hide"), "{}", answer.text);
}
