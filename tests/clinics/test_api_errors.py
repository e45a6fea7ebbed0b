"""clinics/api_errors.py: every API error is a problem body whose reasons are sentences, however nested the input.

No API outside dosing's `ampoules` takes a list of objects that reaches the handler nested
(referrals flattens its `previous_episodes` itself), so the nested errors come from a
serializer of the same shapes: a list of objects, a list of numbers and a dict of numbers.
"""

from rest_framework import exceptions, serializers

from clinics.api_errors import PROBLEM_CONTENT_TYPE, problem_exception_handler


class LineIn(serializers.Serializer):
    register = serializers.IntegerField(min_value=1)
    count = serializers.IntegerField(min_value=0)


class OrderIn(serializers.Serializer):
    reference = serializers.CharField()
    lines = LineIn(many=True)
    weeks = serializers.ListField(child=serializers.IntegerField(max_value=52))
    stock_by_site = serializers.DictField(child=serializers.IntegerField())


def problem_for(data) -> dict:
    serializer = OrderIn(data=data)
    assert not serializer.is_valid()
    response = problem_exception_handler(exceptions.ValidationError(serializer.errors), context={})
    assert response.status_code == 400
    assert response.content_type == PROBLEM_CONTENT_TYPE
    return response.data


def test_nested_errors_of_list_and_dict_inputs_become_sentences_on_their_field():
    body = problem_for(
        {
            "reference": "",
            "lines": [{"register": 3, "count": 1}, {"register": 0}],
            "weeks": [1, 60],
            "stock_by_site": {"north": "many"},
        }
    )

    assert body["errors"] == {
        "reference": ["This field may not be blank."],
        "lines": [
            "Lines: item 2, register: Ensure this value is greater than or equal to 1.",
            "Lines: item 2, count: This field is required.",
        ],
        "weeks": ["Weeks: item 2, Ensure this value is less than or equal to 52."],
        "stock_by_site": ["Stock by site: north: A valid integer is required."],
    }
    assert all(isinstance(reason, str) for reasons in body["errors"].values() for reason in reasons)
    assert "{" not in body["detail"] and "ErrorDetail" not in body["detail"]
    assert body["detail"].startswith("reference: This field may not be blank.; lines: Lines: item 2, register: ")


def test_a_list_input_that_is_not_a_list_is_one_sentence_on_its_field():
    body = problem_for({"reference": "R1", "lines": "two", "weeks": [], "stock_by_site": {}})

    assert body["errors"] == {"lines": ['Lines: Expected a list of items but got type "str".']}


def test_a_request_body_that_is_a_list_answers_sentences_without_a_field():
    detail = [{}, {"count": ["A valid integer is required."]}]

    body = problem_exception_handler(exceptions.ValidationError(detail), context={}).data

    assert body["errors"] == {"non_field_errors": ["item 2, count: A valid integer is required."]}
    assert body["detail"] == "item 2, count: A valid integer is required."


def test_flat_field_errors_are_left_as_they_are():
    body = problem_exception_handler(
        exceptions.ValidationError({"dose_mg": ["A valid number is required."], "route": "Choose the route."}),
        context={},
    ).data

    assert body["errors"] == {"dose_mg": ["A valid number is required."], "route": ["Choose the route."]}
    assert body["detail"] == "dose_mg: A valid number is required.; route: Choose the route."
