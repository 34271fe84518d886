"""The annotated CSV parser on answers shaped as InfluxDB sends them."""

import numpy as np
import pytest

from measurements.stores.annotated_csv import (
    AnnotatedCsvError,
    FluxQueryError,
    parse,
)
from tests.influx_stub import Table, annotated_csv

pytestmark = pytest.mark.contract


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_several_tables_and_a_schema_change():
    answer = crlf(
        "#datatype,string,long,dateTime:RFC3339,string,double",
        "#group,false,false,false,true,false",
        "#default,_result,,,,",
        ",result,table,_time,pmu_id,v_a_mag",
        ",,0,2024-05-01T00:00:00Z,A,1.5",
        ",,0,2024-05-01T00:00:00.000000001Z,A,2",
        ",,1,2024-05-01T00:00:00.5Z,B,-3.25",
        "",
        "#datatype,string,long,dateTime:RFC3339,string,double,double",
        "#group,false,false,false,true,false,false",
        "#default,_result,,,,,",
        ",result,table,_time,pmu_id,v_a_mag,freq",
        ",,2,2024-05-01T00:00:01.123456789Z,C,4,59.99",
    )

    first, second = parse(answer)

    assert first.names == ["result", "table", "_time", "pmu_id", "v_a_mag"]
    assert [len(table) for table in first.tables()] == [2, 1]
    np.testing.assert_array_equal(
        first.columns["_time"],
        [1714521600000000000, 1714521600000000001, 1714521600500000000],
    )
    assert first.columns["pmu_id"].tolist() == ["A", "A", "B"]
    assert first.columns["result"].tolist() == ["_result"] * 3
    np.testing.assert_array_equal(first.columns["v_a_mag"], [1.5, 2.0, -3.25])
    assert first.group == {
        "result": False,
        "table": False,
        "_time": False,
        "pmu_id": True,
        "v_a_mag": False,
    }
    assert second.columns["freq"].tolist() == [59.99]
    assert second.columns["_time"].tolist() == [1714521601123456789]


@pytest.mark.parametrize("answer", [b"", b"\r\n", b"\n"])
def test_an_empty_result_has_no_blocks(answer):
    assert parse(answer) == []


def test_a_header_without_rows_is_an_empty_block():
    (block,) = parse(
        crlf(
            "#datatype,string,long,double",
            "#group,false,false,false",
            "#default,_result,,",
            ",result,table,_value",
        )
    )

    assert len(block) == 0
    assert block.tables() == []


def test_every_datatype_we_read():
    answer = crlf(
        "#datatype,string,long,string,long,unsignedLong,double,boolean,"
        "dateTime:RFC3339,dateTime:RFC3339Nano,duration,base64Binary",
        "#group,false,false,true,false,false,false,false,false,false,false,false",
        "#default,_result,,,,,,,,,,",
        ",result,table,s,l,u,d,b,t,tn,du,bin",
        ',,0,"a, ""quoted"" string",-9007199254740993,18446744073709551615,'
        "+Inf,true,1970-01-01T00:00:00Z,2262-04-11T23:47:16.854775807Z,"
        "3600000000000,aGk=",
        ",,0,plain,0,0,-0.000001,false,2024-05-01T00:00:00.1Z,"
        "2024-05-01T00:00:00.000000009Z,1,",
    )

    (block,) = parse(answer)

    c = block.columns
    assert c["s"].tolist() == ['a, "quoted" string', "plain"]
    assert c["l"].tolist() == [-9007199254740993, 0]
    assert c["l"].dtype == np.int64
    assert c["u"].tolist() == [18446744073709551615, 0]
    assert c["d"][0] == np.inf
    assert c["d"][1] == -0.000001
    assert c["b"].tolist() == [True, False]
    assert c["t"].tolist() == [0, 1714521600100000000]
    assert c["tn"].tolist() == [9223372036854775807, 1714521600000000009]
    assert c["du"].tolist() == [3600000000000, 1]
    assert c["bin"].tolist() == [b"hi", b""]


def test_empty_cells_take_the_default_or_are_null():
    answer = crlf(
        "#datatype,string,long,double,double,string",
        "#group,false,false,false,false,true",
        "#default,_result,,,7.5,PMU-0",
        ",result,table,x,y,pmu_id",
        ",,0,,,",
        ",,0,1,2,PMU-9",
    )

    (block,) = parse(answer)

    assert np.isnan(block.columns["x"][0])
    assert block.nulls["x"].tolist() == [True, False]
    assert block.columns["y"].tolist() == [7.5, 2.0]
    assert block.columns["pmu_id"].tolist() == ["PMU-0", "PMU-9"]
    assert "y" not in block.nulls


def test_only_the_chosen_columns_are_converted():
    answer = crlf(
        "#datatype,string,long,double,double",
        "#group,false,false,false,false",
        "#default,_result,,,",
        ",result,table,a,b",
        ",,0,1,2",
    )

    (block,) = parse(answer, ("b",))

    assert set(block.columns) == {"b", "table"}


def test_an_error_table_after_data_rows_raises():
    answer = crlf(
        "#datatype,string,long,double",
        "#group,false,false,false",
        "#default,_result,,",
        ",result,table,_value",
        ",,0,1",
        ",,0,2",
        "",
        "#datatype,string,string",
        "#group,true,true",
        "#default,,",
        ",error,reference",
        ',"runtime error: out of memory, query aborted",897',
    )

    with pytest.raises(FluxQueryError) as caught:
        parse(answer)

    assert caught.value.message == "runtime error: out of memory, query aborted"
    assert caught.value.reference == "897"


def test_annotations_straight_after_rows_start_a_new_block():
    answer = (
        b"#datatype,string,long,double\n#group,false,false,false\n"
        b"#default,_result,,\n,result,table,a\n,,0,1\n"
        b"#datatype,string,long,string\n#group,false,false,false\n"
        b"#default,_result,,\n,result,table,b\n,,1,x\n"
    )

    first, second = parse(answer)

    assert first.columns["a"].tolist() == [1.0]
    assert second.columns["b"].tolist() == ["x"]


@pytest.mark.parametrize(
    "answer",
    [
        b"#datatype,string,long\n#group,false\n,result,table\n,,0\n",
        b"#datatype,string,nonsense\n,result,x\n,,1\n",
        b"#datatype,string,long,double\n,result,table,v\n,,0,not-a-number\n",
        b"#datatype,string,long,double\n,result,table,v\n,,0,1,2,3\n",
    ],
)
def test_malformed_answers_are_refused(answer):
    with pytest.raises(AnnotatedCsvError):
        parse(answer)


def test_the_stub_output_round_trips_exactly():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1e6, 500), rng.uniform(-180, 180, 500)])
    times = 1_714_521_600_000_000_000 + np.arange(1000, dtype=np.int64) * 8_333_337
    table = Table(
        [("_time", "dateTime:RFC3339", False), ("v", "double", False)],
        [[int(t), float(v)] for t, v in zip(times, values, strict=True)],
    )
    answer = ("\r\n".join(annotated_csv([table])) + "\r\n\r\n").encode()

    (block,) = parse(answer)

    np.testing.assert_array_equal(block.columns["_time"], times)
    np.testing.assert_array_equal(block.columns["v"], values)
