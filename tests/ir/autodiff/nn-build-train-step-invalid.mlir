// RUN: kiln-opt %s --nn-autodiff --nn-build-train-step -split-input-file -verify-diagnostics

// expected-error @+1 {{nn-build-train-step: optimizer 'Nadam' is not supported yet (supported: SGD, ASGD, Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, RAdam, RMSprop, Rprop, SparseAdam)}}
module attributes {nn.optimizer = {type = "Nadam", lr = 0.001 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn-build-train-step: optimizer '?' is not supported yet (supported: SGD, ASGD, Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, RAdam, RMSprop, Rprop, SparseAdam)}}
module attributes {nn.optimizer = {lr = 0.001 : f64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn-build-train-step: the module has no nn.optimizer}}
module {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// nn.loss without nn.differentiate: autodiff builds no gradient function.
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64}} {
  // expected-error @+1 {{nn-build-train-step: no gradient function 'loss_grad' (run nn-autodiff first)}}
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: SGD nesterov requires momentum > 0 and zero dampening}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, nesterov = true}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: 'momentum' must be a number}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = "high"}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: 'nesterov' must be a bool}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, momentum = 0.9 : f64, nesterov = 1 : i64}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: param_groups[1].params: "w2" is not a parameter of the loss function}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, param_groups = [{params = ["w"]}, {params = ["w2"]}]}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: parameter 'w' appears in more than one parameter group}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, param_groups = [{params = ["w"]}, {params = ["w"]}]}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: param_groups[0] must be a dictionary with a 'params' array}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, param_groups = [{lr = 0.1 : f64}]}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{nn.optimizer: param_groups must be a non-empty array}}
module attributes {nn.optimizer = {type = "SGD", lr = 0.01 : f64, param_groups = []}} {
  func.func @loss(%w: tensor<4x8xf32> {nn.name = "w", nn.role = #nn.role<param>}, %x: tensor<2x8xf32> {nn.role = #nn.role<input>}, %t: tensor<2xi64> {nn.role = #nn.role<target>}) -> tensor<f32> attributes {nn.differentiate, nn.loss} {
    %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    %l = nn.cross_entropy_loss %y, %t : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
