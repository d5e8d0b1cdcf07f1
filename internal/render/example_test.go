package render_test

import (
	"fmt"

	"github.com/openproton/openproton/internal/render"
)

func ExampleRender() {
	// Outputs as Proton receives them from CloudFormation, decoded the way
	// json.loads would: integers stay integers and key order is kept.
	outputs, err := render.DecodeJSON([]byte(`{"Port": 8080, "QueueUrl": "https://sqs.example/q"}`))
	if err != nil {
		panic(err)
	}
	out, err := render.Render("cloudformation.yaml", `Port: {{ environment.outputs.Port }}
Environment:
  {{ environment.outputs | proton_cfn_lambda_function_formatted_env_vars }}
`, map[string]any{
		"environment": map[string]any{"name": "prod", "outputs": outputs},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output:
	// Port: 8080
	// Environment:
	//   Port: 8080
	//   QueueUrl: https://sqs.example/q
}
