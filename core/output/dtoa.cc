// SPDX-License-Identifier: Apache-2.0
// dtoa_shortest() over double-conversion's DoubleToAscii(SHORTEST): the
// shortest digits that read back exactly, without printf or strtod.  Built
// with -fno-exceptions -fno-rtti; the library is linked statically where
// Debian ships its archive, so that dsrc needs no C++ runtime at run time.
#include <double-conversion/double-conversion.h>

#include "output/dtoa.h"

int dtoa_shortest(double d, char digits[18], int *point)
{
    bool negative;
    int length = 0;

    double_conversion::DoubleToStringConverter::DoubleToAscii(
        d, double_conversion::DoubleToStringConverter::SHORTEST, 0, digits, 18,
        &negative, &length, point);
    return length;
}

int dtoa_precision(double d, int precision, char digits[18], int *point)
{
    bool negative;
    int length = 0;

    double_conversion::DoubleToStringConverter::DoubleToAscii(
        d, double_conversion::DoubleToStringConverter::PRECISION, precision, digits, 18,
        &negative, &length, point);
    while (length > 1 && digits[length - 1] == '0')
        length--;
    return length;
}
