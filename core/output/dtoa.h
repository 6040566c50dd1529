/* SPDX-License-Identifier: Apache-2.0 */
/* The shortest decimal digits of a double that read back as that double,
 * from Google's double-conversion library (libdouble-conversion). */
#ifndef DSRC_OUTPUT_DTOA_H
#define DSRC_OUTPUT_DTOA_H

#ifdef __cplusplus
extern "C" {
#endif

/* The shortest digits of |d| (d finite, not zero) into digits[18]: at most
 * 17 digits, no leading or trailing zero, and *point such that
 * |d| = 0.DIGITS * 10^point.  Returns the number of digits. */
int dtoa_shortest(double d, char digits[18], int *point);

/* The digits of |d| correctly rounded to `precision` (<= 17) significant
 * digits, trailing zeros dropped; *point as above. */
int dtoa_precision(double d, int precision, char digits[18], int *point);

#ifdef __cplusplus
}
#endif

#endif
