/*
 * test_extract.c: the extractor's rules one by one (docs/extract.md), each on
 * a short article written for it, and the field-level accuracy over the test
 * articles in tests/data/articles/ (printed; the test fails below 100 %).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "handover/extract.h"
#include "handover/jreport.h"

/* ---- helpers ---------------------------------------------------------------- */

static ho_extract_result_t R;

static ho_extract_status_t run_meta(const char *text, const ho_extract_meta_t *meta) {
        char err[256];

        assert_int_equal(ho_extract_article(text, strlen(text), meta, &R, err, sizeof(err)), HO_OK);
        return R.status;
}

static ho_extract_status_t run(const char *text) {
        return run_meta(text, NULL);
}

static void date_is(const char *want) {
        char d[11];

        assert_true(R.found & HO_XF_OCCURRED_ON);
        ho_date_format(R.report.occurred_on, d);
        assert_string_equal(d, want);
}

static void time_is(const char *want) {
        char t[32];

        assert_true(R.found & HO_XF_REPORTED_AT);
        ho_time_format_rfc3339(R.report.reported_at, t);
        assert_string_equal(t, want);
}

static int teardown(void **state) {
        (void)state;
        ho_extract_result_clear(&R);
        return 0;
}

/* A minimal wire story around one body: time line, dateline, body. */
static char *story(const char *timeline, const char *dateline, const char *body) {
        static char buf[8192];

        snprintf(buf, sizeof(buf), "Headline of the story\n%s\n%s %s\n", timeline, dateline, body);
        return buf;
}

#define TL "14:47 JST, January 21, 2026"
#define DL "MEXICO CITY, Jan 20 (Reuters) -"

/* ---- numbers and time lines ------------------------------------------------ */

static long num(const char *s) {
        size_t pos = 0;
        return ho_extract_number(s, strlen(s), &pos);
}

static void test_numbers(void **state) {
        size_t pos = 0;
        (void)state;
        assert_int_equal(num("37"), 37);
        assert_int_equal(num("1,200 people"), 1200);
        assert_int_equal(num("thirty-seven"), 37);
        assert_int_equal(num("Thirty seven"), 37);
        assert_int_equal(num("twenty-nine prisoners"), 29);
        assert_int_equal(num("seven military aircraft"), 7);
        assert_int_equal(num("one hundred and five"), 105);
        assert_int_equal(num("two thousand three hundred"), 2300);
        assert_int_equal(num("a dozen"), 12);
        assert_int_equal(num("two dozen"), 24);
        assert_int_equal(num("twelve"), 12);
        assert_int_equal(num("none"), -1);
        assert_int_equal(num("thirty-zero"), -1);
        assert_int_equal(num("third"), -1); /* an ordinal is no count */
        assert_int_equal(ho_extract_number("26 men", 6, &pos), 26);
        assert_int_equal(pos, 2);
}

static void tl(const char *line, int rc, const char *want) {
        int y = 0, m = 0, d = 0;
        int64_t ms = 0;
        char t[32];

        assert_int_equal(ho_extract_timeline(line, strlen(line), &y, &m, &d, &ms), rc);
        if (rc == 3) {
                ho_time_format_rfc3339(ms, t);
                assert_string_equal(t, want);
        } else if (want) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
                assert_string_equal(buf, want);
        }
}

static void test_timelines(void **state) {
        (void)state;
        tl("14:47 JST, January 21, 2026", 3, "2026-01-21T05:47:00Z");
        tl("Updated 9:10 PM CST, January 20, 2026", 3, "2026-01-21T03:10:00Z");
        tl("February 27, 2025 6:00 PM EST", 3, "2025-02-27T23:00:00Z");
        tl("Aug 12, 2025 | 4:00 PM GMT-6", 3, "2025-08-12T22:00:00Z");
        tl("2025-02-28 01:30 UTC", 3, "2025-02-28T01:30:00Z");
        tl("Published 2026-01-21T05:47:00Z", 3, "2026-01-21T05:47:00Z");
        tl("January 21, 2026 5:47 a.m. UTC+05:30", 3, "2026-01-21T00:17:00Z");
        tl("March 3, 2026 12:00 PM EST", 3, "2026-03-03T17:00:00Z");
        tl("March 3, 2026 12:30 AM EST", 3, "2026-03-03T05:30:00Z");
        tl("Tuesday, 20 January 2026 23:10 GMT", 3, "2026-01-20T23:10:00Z");
        tl("January 21, 2026 10:30", 2, "2026-01-21");
        tl("February 27, 2025", 1, "2025-02-27");
        tl("Mexico sends 37 to US on January 20, 2026", 0, NULL);
        tl("February 30, 2025 6:00 PM EST", 0, NULL);
        tl("13:00 PM EST, January 1, 2026", 0, NULL);
}

/* ---- the transfer's date ---------------------------------------------------- */

static void test_date_dateline_and_timeline_year(void **state) {
        (void)state;
        assert_int_equal(run(story(TL, DL,
                                   "Mexico sent 37 people to the United States, officials said.")),
                         HO_EXTRACT_COMPLETE);
        date_is("2026-01-20");
        assert_string_equal(R.report.transfer_id, "mx-us-2026-01-20");
}

static void test_date_other_dates_ignored(void **state) {
        (void)state;
        run(story(TL, DL,
                  "Mexico sent 37 people to the United States, officials said.\n"
                  "The leaders spoke in a phone call on January 12 about the plan.\n"
                  "Police said one of the men was arrested on December 3, 2025 in Sonora."));
        date_is("2026-01-20");
}

static void test_date_weekday_moves_back(void **state) {
        (void)state;
        /* a Wednesday dateline, a transfer "on Tuesday" */
        run(story("January 21, 2026 10:30 AM EST", "WASHINGTON, Jan 21 (Reuters) -",
                  "Mexico sent 37 people to the United States on Tuesday, officials said."));
        date_is("2026-01-20");
        /* the same weekday: no change */
        run(story(TL, DL,
                  "Mexico sent 37 people to the United States on Tuesday, officials said."));
        date_is("2026-01-20");
}

static void test_date_explicit_and_weekday_check(void **state) {
        size_t i;
        int disagree = 0;
        (void)state;
        run(story(
                TL, "MEXICO CITY (Reuters) -",
                "Mexico sent 37 people to the United States on Jan. 19, officials said on Wednesday."));
        date_is("2026-01-19");
        /* a weekday that disagrees with an explicit date keeps the date and says so */
        run(story(
                TL, "MEXICO CITY (Reuters) -",
                "Mexico sent 37 people to the United States on Jan. 19, a Friday, officials said."));
        date_is("2026-01-19");
        for (i = 0; i < R.n_ev; i++)
                if (R.ev[i].field == HO_XF_OCCURRED_ON && strstr(R.ev[i].why, "disagrees"))
                        disagree = 1;
        assert_true(disagree);
}

static void test_date_year_rollover_and_yesterday(void **state) {
        (void)state;
        run(story("January 1, 2026 8:15 AM PST", "GUATEMALA CITY, Dec 30 (Reuters) -",
                  "Guatemala sent 12 suspects to El Salvador, officials said."));
        date_is("2025-12-30");
        assert_string_equal(R.report.transfer_id, "gt-sv-2025-12-30");
        run(story("January 21, 2026 10:30 AM EST", "MEXICO CITY (AP) -",
                  "Mexico sent 37 people to the United States yesterday, officials said."));
        date_is("2026-01-20");
}

static void test_date_vague_is_incomplete(void **state) {
        (void)state;
        assert_int_equal(
                run(story(
                        TL, "MEXICO CITY (AP) -",
                        "Mexico sent 18 inmates to the United States last week, officials said.")),
                HO_EXTRACT_INCOMPLETE);
        assert_true(R.missing & HO_XF_OCCURRED_ON);
        assert_true(R.missing & HO_XF_TRANSFER_ID);
        assert_null(R.report.transfer_id);
        assert_null(R.report.report_id);
}

/* ---- reported_at -------------------------------------------------------------- */

static void test_reported_at(void **state) {
        ho_extract_meta_t meta = {.published_at = "2026-01-21T06:00:00+01:00", .source = "Feed"};
        (void)state;
        run(story(TL, DL, "Mexico sent 37 people to the United States, officials said."));
        time_is("2026-01-21T05:47:00Z");
        run(story("Updated 9:10 PM CST, January 20, 2026", DL,
                  "Mexico sent 37 people to the United States, officials said."));
        time_is("2026-01-21T03:10:00Z");
        /* no zone: no instant; published_at when the input gives one */
        assert_int_equal(run(story("January 21, 2026 10:30", DL,
                                   "Mexico sent 37 people to the United States, officials said.")),
                         HO_EXTRACT_INCOMPLETE);
        assert_true(R.missing & HO_XF_REPORTED_AT);
        run_meta(story("January 21, 2026 10:30", DL,
                       "Mexico sent 37 people to the United States, officials said."),
                 &meta);
        time_is("2026-01-21T05:00:00Z");
        assert_string_equal(R.report.source, "Reuters"); /* the dateline's wire comes first */
}

/* ---- counts ------------------------------------------------------------------ */

static void test_counts_digits_and_words(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent thirty-seven alleged cartel members to the United States, officials said."));
        assert_int_equal(R.report.inmate_count, 37);
        run(story(
                TL, DL,
                "Twenty-nine prisoners were flown from Mexico to the United States, officials said."));
        assert_int_equal(R.report.inmate_count, 29);
        assert_string_equal(R.report.origin_country, "MX");
        run(story(
                TL, DL,
                "Honduras handed two dozen gang leaders over to the United States aboard three flights."));
        assert_int_equal(R.report.inmate_count, 24);
        assert_true(R.report.has_aircraft_count);
        assert_int_equal(R.report.aircraft_count, 3);
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States on seven military aircraft, officials said."));
        assert_int_equal(R.report.aircraft_count, 7);
        /* a bound is no count: the report is incomplete, not a guess */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "Mexico sent more than 30 prisoners to the United States, officials said.")),
                HO_EXTRACT_INCOMPLETE);
        assert_true(R.missing & HO_XF_INMATES);
        assert_int_equal(
                run(story(TL, DL,
                          "Mexico sent at least 35 people to the United States, officials said.")),
                HO_EXTRACT_INCOMPLETE);
        assert_int_equal(
                run(story(TL, DL,
                          "Mexico handed over 26 prisoners to the United States, officials said.")),
                HO_EXTRACT_COMPLETE);
        assert_int_equal(R.report.inmate_count, 26);
        /* a 37-year-old is no count */
        run(story(
                TL, DL,
                "Mexico sent a 52-year-old and 36 other suspects to the United States, officials said."));
        assert_int_equal(R.report.inmate_count, 36);
}

static void test_counts_total_versus_transfer(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\n"
                "The operation brings the total number of prisoners handed over this way to 92."));
        assert_int_equal(R.report.inmate_count, 37);
        assert_true(R.report.has_cumulative_total);
        assert_int_equal(R.report.cumulative_total, 92);
        /* the total's number is never taken for the count, even in the same sentence first */
        run(story(
                TL, DL,
                "Bringing to 92 the number of people sent, Mexico sent 37 prisoners to the United States."));
        assert_int_equal(R.report.inmate_count, 37);
        assert_int_equal(R.report.cumulative_total, 92);
        run(story(
                TL, DL,
                "Mexico sent 26 inmates to the United States, taking the tally to 55, officials said."));
        assert_int_equal(R.report.cumulative_total, 55);
        /* a "total" below the count is not this transfer's running total */
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, bringing the total to 12, officials said."));
        assert_false(R.report.has_cumulative_total);
        assert_false(R.found & HO_XF_CUMULATIVE);
}

static void test_ordinal(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States in its third major transfer, officials said."));
        assert_int_equal(R.ordinal, 3);
        run(story(TL, DL, "Mexico sent 37 people to the United States, officials said."));
        assert_int_equal(R.ordinal, 0);
}

/* ---- countries and destinations ------------------------------------------------ */

static void test_countries(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexican authorities handed 26 prisoners to U.S. officials, the government said."));
        assert_string_equal(R.report.origin_country, "MX");
        assert_string_equal(R.report.destination_country, "US");
        run(story(TL, DL,
                  "Mexico sent 37 Mexican nationals to the U.S. on Tuesday, officials said."));
        assert_string_equal(R.report.destination_country, "US");
        /* no origin in the sentence: the dateline's country */
        run(story(TL, DL, "The government sent 37 people to the United States, officials said."));
        assert_string_equal(R.report.origin_country, "MX");
        /* "us" is a pronoun, not the country */
        assert_int_equal(run(story(TL, DL,
                                   "They sent 37 people to us, officials said in a statement.")),
                         HO_EXTRACT_NONE);
        /* a city is not its country */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "Marines sent 14 suspects to Mexico City for questioning, the navy said.")),
                HO_EXTRACT_NONE);
}

static void test_destinations(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\n"
                "The aircraft landed in Washington, Houston, New York, Pennsylvania, San Antonio and San Diego."));
        assert_int_equal(R.report.n_destinations, 6);
        assert_string_equal(R.report.destinations[0], "Washington");
        assert_string_equal(R.report.destinations[3], "Pennsylvania");
        assert_string_equal(R.report.destinations[5], "San Diego");
        /* a state after its city qualifies it */
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\n"
                "Their planes landed in Houston, Texas, and San Diego, California, a spokesperson said."));
        assert_int_equal(R.report.n_destinations, 2);
        assert_string_equal(R.report.destinations[1], "San Diego");
        /* a place in a sentence that is not about landing is not an arrival */
        run(story(TL, DL,
                  "Mexico sent 37 people to the United States, officials said.\n"
                  "One of them faces charges in a New York court."));
        assert_int_equal(R.report.n_destinations, 0);
        assert_true(R.missing & HO_XF_DESTINATIONS);
}

/* ---- source, authority, persons ------------------------------------------------ */

static void test_source(void **state) {
        ho_extract_meta_t meta = {.source = "Example News"};
        (void)state;
        run(story(TL, "MEXICO CITY, Aug. 12 (Jiji Press) —",
                  "Mexico sent 26 inmates to the United States, officials said."));
        assert_string_equal(R.report.source, "Jiji Press");
        run(story(TL, "Mexico City, Aug. 12 (EFE).-",
                  "Mexico sent 26 inmates to the United States, officials said."));
        assert_string_equal(R.report.source, "EFE");
        /* no wire: the input's source, or incomplete */
        assert_int_equal(run(story(TL, "MEXICO CITY —",
                                   "Mexico sent 26 inmates to the United States, officials said.")),
                         HO_EXTRACT_INCOMPLETE);
        assert_true(R.missing & HO_XF_SOURCE);
        run_meta(story(TL, "MEXICO CITY —",
                       "Mexico sent 26 inmates to the United States, officials said."),
                 &meta);
        assert_string_equal(R.report.source, "Example News");
}

static void test_authority(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States.\n"
                "Mexico's Secretariat of Security and Citizen Protection said the flights landed safely."));
        assert_string_equal(R.report.authority, "Secretariat of Security and Citizen Protection");
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, Mexico's Attorney General's Office said."));
        assert_string_equal(R.report.authority, "Attorney General's Office");
        /* a lower-case description names no agency */
        run(story(TL, DL,
                  "Mexico sent 37 people to the United States, the security ministry said."));
        assert_null(R.report.authority);
        assert_true(R.missing & HO_XF_AUTHORITY);
}

static void test_persons(void **state) {
        (void)state;
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\n"
                "Among those sent was Pedro Inzunza Noriega, whom U.S. prosecutors describe as a relative of the head of the Beltran Leyva cartel."));
        assert_int_equal(R.report.n_persons, 1);
        assert_string_equal(R.report.persons[0].name, "Pedro Inzunza Noriega");
        assert_string_equal(R.report.persons[0].affiliation,
                            "Beltran Leyva"); /* through the relation */
        run(story(
                TL, DL,
                "Mexico sent 29 people to the United States, officials said.\n"
                "The 29 included Rafael Caro Quintero, a founder of the Guadalajara Cartel; Miguel Ángel Treviño Morales and Omar Treviño Morales, brothers who led Los Zetas; and Ana Ruiz, whose role was not described."));
        assert_int_equal(R.report.n_persons, 4);
        assert_string_equal(R.report.persons[0].affiliation, "Guadalajara Cartel");
        assert_string_equal(R.report.persons[1].name, "Miguel Ángel Treviño Morales");
        assert_string_equal(R.report.persons[1].affiliation,
                            "Los Zetas"); /* the shared appositive */
        assert_string_equal(R.report.persons[2].affiliation, "Los Zetas");
        assert_string_equal(R.report.persons[3].name, "Ana Ruiz");
        assert_null(R.report.persons[3].affiliation);
        /* officials and speakers are not those sent */
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\n"
                "Among the officials at the base was Security Minister Omar Garcia Harfuch, and Juan Perez said the flights left on time."));
        assert_int_equal(R.report.n_persons, 0);
        /* a name outside an "among"/"included" sentence is not taken */
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\nMaria Lopez, a lawyer, criticised the move."));
        assert_int_equal(R.report.n_persons, 0);
}

/* ---- furniture and stories without a transfer ---------------------------------- */

static void test_furniture_never_counts(void **state) {
        (void)state;
        assert_int_equal(
                run("Peso gains\n" TL "\n" DL
                    " The peso rose against the dollar on Tuesday, traders said.\n"
                    "Top Articles\n"
                    "Mexico sent 37 people to the United States on seven planes, bringing the total to 92.\n"),
                HO_EXTRACT_NONE);
        assert_int_equal(run("Peso gains\n" TL "\n" DL
                             " The peso rose against the dollar on Tuesday, traders said.\n"
                             "1. Mexico sent 37 people to the United States, officials said.\n"),
                         HO_EXTRACT_NONE);
        /* a caption, before or inside the body */
        assert_int_equal(
                run("Peso gains\nMexico sent 29 prisoners to the United States on Thursday, officials said. REUTERS/File Photo\n" TL
                    "\n" DL " The peso rose against the dollar on Tuesday, traders said.\n"
                    "Mexico sent 37 people to the United States, officials said. (Photo: Jiji)\n"),
                HO_EXTRACT_NONE);
        /* furniture after the story adds no field to it */
        run(story(
                TL, DL,
                "Mexico sent 37 people to the United States, officials said.\nRelated Coverage\n"
                "The flights landed in Houston and San Diego, bringing the total to 92, the Interior Ministry said.\n"));
        assert_int_equal(R.report.n_destinations, 0);
        assert_false(R.report.has_cumulative_total);
        assert_null(R.report.authority);
}

static void test_no_transfer(void **state) {
        (void)state;
        /* an arrest */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "Mexican marines arrested 14 suspected cartel gunmen in Culiacan, the navy said.")),
                HO_EXTRACT_NONE);
        assert_non_null(R.reason);
        /* hedged and negated */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "Mexico could send 12 more suspects to the United States within weeks, an official said.")),
                HO_EXTRACT_NONE);
        assert_non_null(strstr(R.reason, "hedged"));
        assert_int_equal(
                run(story(
                        TL, DL,
                        "Mexico has not sent the 12 suspects to the United States, an official said.")),
                HO_EXTRACT_NONE);
        /* a court hearing of one of those sent earlier */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "One of the 37 men Mexico sent to the United States pleaded not guilty, records showed.")),
                HO_EXTRACT_NONE);
        /* migrants are not prisoners */
        assert_int_equal(
                run(story(
                        TL, DL,
                        "The United States flew 130 deported migrants to Guatemala on Friday, officials said.")),
                HO_EXTRACT_NONE);
        /* nothing at all */
        assert_int_equal(run(""), HO_EXTRACT_NONE);
        assert_int_equal(run("\n\n\n"), HO_EXTRACT_NONE);
}

/* ---- bytes ------------------------------------------------------------------------ */

static void test_invalid_utf8_and_output(void **state) {
        const char text[] =
                "Headline\n" TL "\n" DL
                " Mexico sent 37 people to the United States, officials said.\n"
                "Among those sent was Pedro \xC3\x28Inzunza Noriega\xFF, a member of the Gulf Cartel.\n";
        char err[256], *js, *ev;
        ho_report_t back;
        json_t *e;
        size_t i;
        (void)state;

        assert_int_equal(ho_extract_article(text, sizeof(text) - 1, NULL, &R, err, sizeof(err)),
                         HO_OK);
        assert_int_equal(R.status, HO_EXTRACT_COMPLETE);
        for (i = 0; i < R.report.n_persons; i++)
                assert_null(strchr(R.report.persons[i].name, '\xFF'));
        /* the printed report is what handover-produce reads: it parses back the same */
        js = ho_report_to_json_text(&R.report);
        assert_non_null(js);
        ho_report_init(&back);
        assert_int_equal(ho_report_from_json(js, strlen(js), &back, err, sizeof(err)), HO_OK);
        assert_string_equal(back.report_id, R.report.report_id);
        assert_int_equal(back.inmate_count, 37);
        ho_report_clear(&back);
        free(js);
        /* the evidence is valid JSON whatever the bytes; offsets point at the quote */
        e = ho_extract_evidence_json(&R, text, sizeof(text) - 1);
        assert_non_null(e);
        ev = json_dumps(e, JSON_COMPACT);
        assert_non_null(ev);
        json_decref(e);
        e = json_loads(ev, 0, NULL);
        assert_non_null(e);
        for (i = 0; i < json_array_size(json_object_get(e, "fields")); i++) {
                json_t *f = json_array_get(json_object_get(e, "fields"), i);
                json_t *q = json_object_get(f, "quote");
                if (json_is_string(q) &&
                    !strcmp(json_string_value(json_object_get(f, "field")), "inmate_count")) {
                        size_t b = (size_t)json_integer_value(json_object_get(f, "start"));
                        size_t n = (size_t)json_integer_value(json_object_get(f, "end")) - b;
                        assert_memory_equal(text + b, json_string_value(q), n);
                        assert_string_equal(json_string_value(q), "37 people");
                }
        }
        json_decref(e);
        free(ev);
        /* too large is refused, not truncated */
        assert_int_equal(ho_extract_article(text, HO_EXTRACT_MAX_TEXT + 1, NULL, &R, err,
                                            sizeof(err)),
                         HO_ERR_INVALID);
}

/* ---- the article set: field-level accuracy ---------------------------------------- */

static char *read_all(const char *path, size_t *len) {
        FILE *fp = fopen(path, "rb");
        char *buf;
        long n;

        if (!fp)
                return NULL;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                free(buf);
                buf = NULL;
        }
        fclose(fp);
        if (buf) {
                buf[n] = 0;
                *len = (size_t)n;
        }
        return buf;
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_article_set_accuracy(void **state) {
        static const char *const fields[] = {"transfer_id",    "occurred_on",
                                             "reported_at",    "source",
                                             "origin_country", "destination_country",
                                             "inmate_count",   "aircraft_count",
                                             "destinations",   "cumulative_total",
                                             "authority",      "persons"};
        static const char *const st[] = {"none", "incomplete", "complete"};
        const char *src = getenv("HO_SOURCE_DIR");
        char dir[2048], path[4200];
        char *names[256];
        size_t n = 0, i, k, total = 0, right = 0, articles = 0;
        struct dirent *de;
        DIR *d;
        (void)state;

        snprintf(dir, sizeof(dir), "%s/tests/data/articles", src ? src : ".");
        d = opendir(dir);
        if (!d)
                fail_msg("cannot open %s (HO_SOURCE_DIR is the source tree)", dir);
        while ((de = readdir(d)) && n < 256) {
                size_t l = strlen(de->d_name);
                if (l > 12 && !strcmp(de->d_name + l - 12, ".expect.json"))
                        names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp_name);
        for (i = 0; i < n; i++) {
                char base[300], *text = NULL, err[256];
                size_t len = 0, blen = strlen(names[i]) - 12, art_total = 0, art_right = 0;
                json_t *exp, *got = NULL, *jl = NULL;
                ho_extract_meta_t meta = {0};
                int jsonl = 0;

                snprintf(base, sizeof(base), "%.*s", (int)blen, names[i]);
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                exp = json_load_file(path, 0, NULL);
                if (!exp)
                        fail_msg("%s: not JSON", path);
                snprintf(path, sizeof(path), "%s/%s.txt", dir, base);
                if (!(text = read_all(path, &len))) {
                        snprintf(path, sizeof(path), "%s/%s.jsonl", dir, base);
                        text = read_all(path, &len);
                        jsonl = 1;
                }
                if (!text)
                        fail_msg("%s: no article (.txt or .jsonl) beside it", base);
                if (jsonl) {
                        jl = json_loadb(text, len, 0, NULL);
                        assert_non_null(jl);
                        meta.url = json_string_value(json_object_get(jl, "url"));
                        meta.source = json_string_value(json_object_get(jl, "source"));
                        meta.published_at = json_string_value(json_object_get(jl, "published_at"));
                        assert_int_equal(
                                ho_extract_article(json_string_value(json_object_get(jl, "text")),
                                                   json_string_length(json_object_get(jl, "text")),
                                                   &meta, &R, err, sizeof(err)),
                                HO_OK);
                } else {
                        assert_int_equal(ho_extract_article(text, len, NULL, &R, err, sizeof(err)),
                                         HO_OK);
                }
                articles++;
                /* the status is a field of its own */
                art_total++;
                if (!strcmp(st[R.status], json_string_value(json_object_get(exp, "status"))))
                        art_right++;
                else
                        printf("  %s: status: expected %s, got %s\n", base,
                               json_string_value(json_object_get(exp, "status")), st[R.status]);
                if (json_object_get(exp, "report")) {
                        json_t *er = json_object_get(exp, "report");
                        got = R.status != HO_EXTRACT_NONE ? ho_report_to_json(&R.report)
                                                          : json_object();
                        for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
                                json_t *ev = json_object_get(er, fields[k]), *gv;
                                unsigned bit = 1u << k;
                                if (!ev) {
                                        /* a required field the article lacks: it must be missing */
                                        art_total++;
                                        if (R.missing & bit)
                                                art_right++;
                                        else
                                                printf("  %s: %s: expected missing, got a value\n",
                                                       base, fields[k]);
                                        continue;
                                }
                                gv = (R.found & bit) || !(bit & HO_XF_REQUIRED)
                                             ? json_object_get(got, fields[k])
                                             : NULL;
                                art_total++;
                                if (gv && json_equal(ev, gv)) {
                                        art_right++;
                                } else {
                                        char *a = json_dumps(ev, JSON_ENCODE_ANY | JSON_COMPACT);
                                        char *b = gv ? json_dumps(gv,
                                                                  JSON_ENCODE_ANY | JSON_COMPACT)
                                                     : strdup("(missing)");
                                        printf("  %s: %s: expected %s, got %s\n", base, fields[k],
                                               a, b);
                                        free(a);
                                        free(b);
                                }
                        }
                        json_decref(got);
                }
                printf("  %-40s %s  %zu/%zu fields\n", base, st[R.status], art_right, art_total);
                total += art_total;
                right += art_right;
                json_decref(exp);
                json_decref(jl);
                free(text);
                free(names[i]);
        }
        printf("extract accuracy: %zu/%zu fields right over %zu articles (%.1f %%)\n", right, total,
               articles, total ? 100.0 * (double)right / (double)total : 0.0);
        fflush(stdout);
        assert_true(articles >= 15);
        assert_int_equal(right, total);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_numbers, teardown),
                cmocka_unit_test_teardown(test_timelines, teardown),
                cmocka_unit_test_teardown(test_date_dateline_and_timeline_year, teardown),
                cmocka_unit_test_teardown(test_date_other_dates_ignored, teardown),
                cmocka_unit_test_teardown(test_date_weekday_moves_back, teardown),
                cmocka_unit_test_teardown(test_date_explicit_and_weekday_check, teardown),
                cmocka_unit_test_teardown(test_date_year_rollover_and_yesterday, teardown),
                cmocka_unit_test_teardown(test_date_vague_is_incomplete, teardown),
                cmocka_unit_test_teardown(test_reported_at, teardown),
                cmocka_unit_test_teardown(test_counts_digits_and_words, teardown),
                cmocka_unit_test_teardown(test_counts_total_versus_transfer, teardown),
                cmocka_unit_test_teardown(test_ordinal, teardown),
                cmocka_unit_test_teardown(test_countries, teardown),
                cmocka_unit_test_teardown(test_destinations, teardown),
                cmocka_unit_test_teardown(test_source, teardown),
                cmocka_unit_test_teardown(test_authority, teardown),
                cmocka_unit_test_teardown(test_persons, teardown),
                cmocka_unit_test_teardown(test_furniture_never_counts, teardown),
                cmocka_unit_test_teardown(test_no_transfer, teardown),
                cmocka_unit_test_teardown(test_invalid_utf8_and_output, teardown),
                cmocka_unit_test_teardown(test_article_set_accuracy, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
