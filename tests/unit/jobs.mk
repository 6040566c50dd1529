# SPDX-License-Identifier: Apache-2.0
# tests/unit/jobs.mk -- the scheduler's parts (core/jobs/): timing
# arithmetic and the job table on a hand-moved clock (test_jobs), the
# worker threads with real threads held by condition variables
# (test_workers).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_jobs tests/unit/test_workers
TESTS += tests/unit/test_jobs tests/unit/test_workers

tests_unit_test_jobs_SOURCES = tests/unit/test_jobs.c
tests_unit_test_jobs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_jobs_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS)

tests_unit_test_workers_SOURCES = tests/unit/test_workers.c
tests_unit_test_workers_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_workers_LDADD = $(UNIT_LIBS) -lpthread
endif
